#include "sqlprofiler.h"

#include "histogram.h"
#include "metrics.h"

#include <QDateTime>
#include <QMutexLocker>
#include <QRegularExpression>
#include <QSet>
#include <QSqlDatabase>
#include <QSqlDriver>
#include <QSqlError>
#include <QSqlQuery>
#include <QStringList>
#include <QVariant>

#include <algorithm>
#include <cmath>

namespace vega {

namespace {

constexpr double kNsPerMs = 1e6;
// Where a connection's name is remembered: on the driver, so it dies with the connection and
// is shared by every profiler.
constexpr char kConnectionProperty[] = "_vega_sql_connection";

thread_local QString t_correlationId;

// ---- normalisation -------------------------------------------------------------------------

enum class Tok { Word, QuotedIdent, Value, Punct, Collapsed };

// Text is a view into the SQL being normalised or into a literal: no allocation per token.
struct Token {
    Tok kind;
    QStringView text;
    bool spaceBefore;
};

bool isIdentStart(QChar c)
{
    return c.isLetter() || c == u'_';
}

bool isIdentChar(QChar c)
{
    return c.isLetterOrNumber() || c == u'_' || c == u'$';
}

bool isHexDigit(QChar c)
{
    return c.isDigit() || (c >= u'a' && c <= u'f') || (c >= u'A' && c <= u'F');
}

bool isPunct(const Token &t, char16_t c)
{
    return t.kind == Tok::Punct && t.text.size() == 1 && t.text.at(0) == c;
}

bool isWord(const Token &t, QLatin1String word)
{
    return t.kind == Tok::Word && t.text.compare(word, Qt::CaseInsensitive) == 0;
}

// After these keywords a sign starts a number (`WHERE -1 < x`); after any other word it is
// a binary operator on a column (`x -1`).
bool signIsUnaryAfterWord(QStringView word)
{
    static const QLatin1String keywords[] = {
        QLatin1String("SELECT"), QLatin1String("WHERE"),   QLatin1String("AND"),
        QLatin1String("OR"),     QLatin1String("NOT"),     QLatin1String("WHEN"),
        QLatin1String("THEN"),   QLatin1String("ELSE"),    QLatin1String("RETURN"),
        QLatin1String("LIMIT"),  QLatin1String("OFFSET"),  QLatin1String("BY"),
        QLatin1String("IS"),     QLatin1String("IN"),      QLatin1String("BETWEEN"),
        QLatin1String("LIKE"),   QLatin1String("ILIKE"),   QLatin1String("CASE"),
        QLatin1String("HAVING"), QLatin1String("ON"),      QLatin1String("SET"),
        QLatin1String("VALUES"), QLatin1String("DEFAULT"), QLatin1String("DISTINCT"),
        QLatin1String("ALL"),    QLatin1String("ANY"),     QLatin1String("SOME"),
        QLatin1String("EXISTS"), QLatin1String("TOP"),     QLatin1String("INTERVAL"),
    };
    return std::any_of(std::begin(keywords), std::end(keywords),
                       [&](QLatin1String k) { return word.compare(k, Qt::CaseInsensitive) == 0; });
}

class Lexer {
public:
    explicit Lexer(const QString &sql) : m_s(sql), m_n(sql.size()) {}

    std::vector<Token> run()
    {
        m_tokens.reserve(size_t(m_n / 4 + 4));
        qsizetype i = 0;
        while (i < m_n) {
            const QChar c = m_s.at(i);
            if (c.isSpace()) {
                m_space = true;
                ++i;
            } else if (c == u'-' && at(i + 1) == u'-') {
                while (i < m_n && m_s.at(i) != u'\n')
                    ++i;
                m_space = true;
            } else if (c == u'/' && at(i + 1) == u'*') {
                i = skipBlockComment(i);
                m_space = true;
            } else if (c == u'\'') {
                i = skipQuoted(i, u'\'', false);
                pushValue();
            } else if (c == u'"' || c == u'`') {
                const qsizetype end = skipQuoted(i, c.unicode(), false);
                push(Tok::QuotedIdent, QStringView(m_s).mid(i, end - i));
                i = end;
            } else if (c.isDigit() || (c == u'.' && at(i + 1).isDigit())) {
                i = skipNumber(i);
                pushNumber();
            } else if (c == u'$') {
                i = lexDollar(i);
            } else if (c == u'?') {
                ++i;
                while (at(i).isDigit()) // SQLite ?NNN
                    ++i;
                pushValue();
            } else if (c == u':' && at(i + 1) == u':') {
                push(Tok::Punct, u"::");
                i += 2;
            } else if ((c == u':' || c == u'@') && isIdentStart(at(i + 1))) {
                i += 2;
                while (isIdentChar(at(i)))
                    ++i;
                pushValue();
            } else if (isIdentStart(c)) {
                i = lexWord(i);
            } else {
                push(Tok::Punct, QStringView(m_s).mid(i, 1));
                ++i;
            }
        }
        return std::move(m_tokens);
    }

private:
    QChar at(qsizetype i) const { return i < m_n ? m_s.at(i) : QChar(); }

    void push(Tok kind, QStringView text)
    {
        m_tokens.push_back(Token{kind, text, m_space && !m_tokens.empty()});
        m_space = false;
    }
    void pushValue() { push(Tok::Value, u"?"); }

    // A sign glued to the number is part of it unless it is a binary operator.
    void pushNumber()
    {
        const size_t n = m_tokens.size();
        if (!m_space && n > 0) {
            const Token &sign = m_tokens.back();
            if ((isPunct(sign, u'-') || isPunct(sign, u'+')) && signIsUnary(n - 1)) {
                const bool space = sign.spaceBefore;
                m_tokens.back() = Token{Tok::Value, u"?", space};
                return;
            }
        }
        pushValue();
    }

    bool signIsUnary(size_t signIndex) const
    {
        if (signIndex == 0)
            return true;
        const Token &prev = m_tokens[signIndex - 1];
        switch (prev.kind) {
        case Tok::Punct:
            return !isPunct(prev, u')') && !isPunct(prev, u']');
        case Tok::Word:
            return signIsUnaryAfterWord(prev.text);
        case Tok::QuotedIdent:
        case Tok::Value:
        case Tok::Collapsed:
            return false;
        }
        return false;
    }

    // Returns the index after the closing quote; an unterminated quote runs to the end.
    qsizetype skipQuoted(qsizetype i, char16_t quote, bool backslashEscapes) const
    {
        ++i;
        while (i < m_n) {
            const QChar c = m_s.at(i);
            if (backslashEscapes && c == u'\\') {
                i += 2;
            } else if (c == quote) {
                if (at(i + 1) == quote)
                    i += 2;
                else
                    return i + 1;
            } else {
                ++i;
            }
        }
        return m_n;
    }

    qsizetype skipBlockComment(qsizetype i) const
    {
        int depth = 0;
        while (i < m_n) {
            if (m_s.at(i) == u'/' && at(i + 1) == u'*') {
                ++depth;
                i += 2;
            } else if (m_s.at(i) == u'*' && at(i + 1) == u'/') {
                i += 2;
                if (--depth == 0)
                    return i;
            } else {
                ++i;
            }
        }
        return m_n;
    }

    qsizetype skipNumber(qsizetype i) const
    {
        if (m_s.at(i) == u'0' && (at(i + 1) == u'x' || at(i + 1) == u'X') && isHexDigit(at(i + 2))) {
            i += 2;
            while (isHexDigit(at(i)))
                ++i;
        } else {
            while (at(i).isDigit())
                ++i;
            if (at(i) == u'.') {
                ++i;
                while (at(i).isDigit())
                    ++i;
            }
            if ((at(i) == u'e' || at(i) == u'E') &&
                (at(i + 1).isDigit() || ((at(i + 1) == u'+' || at(i + 1) == u'-') && at(i + 2).isDigit()))) {
                i += 2;
                while (at(i).isDigit())
                    ++i;
            }
        }
        // Letters glued to a number (1_000, 12abc) would otherwise surface as a word.
        while (isIdentChar(at(i)))
            ++i;
        return i;
    }

    // $1, $name (SQLite), $$..$$ and $tag$..$tag$ (PostgreSQL dollar quoting).
    qsizetype lexDollar(qsizetype i)
    {
        if (at(i + 1).isDigit()) {
            ++i;
            while (at(i).isDigit())
                ++i;
            pushValue();
            return i;
        }
        qsizetype j = i + 1;
        if (isIdentStart(at(j))) {
            while (at(j).isLetterOrNumber() || at(j) == u'_')
                ++j;
        }
        if (at(j) == u'$') {
            const QStringView tag = QStringView(m_s).mid(i, j + 1 - i);
            const qsizetype close = m_s.indexOf(tag, j + 1);
            pushValue();
            return close < 0 ? m_n : close + tag.size();
        }
        if (j > i + 1) {
            pushValue();
            return j;
        }
        push(Tok::Punct, u"$");
        return i + 1;
    }

    qsizetype lexWord(qsizetype i)
    {
        qsizetype j = i + 1;
        while (isIdentChar(at(j)))
            ++j;
        if (j == i + 1 && at(j) == u'\'') {
            const char16_t prefix = m_s.at(i).toLower().unicode();
            if (prefix == u'e') {
                pushValue();
                return skipQuoted(j, u'\'', true);
            }
            if (prefix == u'x' || prefix == u'b' || prefix == u'n') {
                pushValue();
                return skipQuoted(j, u'\'', false);
            }
        }
        const QStringView word = QStringView(m_s).mid(i, j - i);
        if (word.compare(QLatin1String("TRUE"), Qt::CaseInsensitive) == 0 ||
            word.compare(QLatin1String("FALSE"), Qt::CaseInsensitive) == 0)
            pushValue();
        else
            push(Tok::Word, word);
        return j;
    }

    const QString &m_s;
    const qsizetype m_n;
    std::vector<Token> m_tokens;
    bool m_space = false;
};

// Index of the ')' closing the '(' at `open` when everything between is flat (no nested
// parentheses), else -1.
qsizetype flatGroupEnd(const std::vector<Token> &t, size_t open)
{
    if (open >= t.size() || !isPunct(t[open], u'('))
        return -1;
    for (size_t k = open + 1; k < t.size(); ++k) {
        if (isPunct(t[k], u'('))
            return -1;
        if (isPunct(t[k], u')'))
            return qsizetype(k);
    }
    return -1;
}

// `( ? , ? , ... )` or an already collapsed `( ? . . . )`.
bool isPlaceholderList(const std::vector<Token> &t, size_t open, size_t close)
{
    if (close <= open + 1 || t[open + 1].kind != Tok::Value)
        return false;
    if (close == open + 5 && isPunct(t[open + 2], u'.') && isPunct(t[open + 3], u'.') &&
        isPunct(t[open + 4], u'.'))
        return true;
    for (size_t k = open + 2; k < close; k += 2) {
        if (k + 1 >= close || !isPunct(t[k], u',') || t[k + 1].kind != Tok::Value)
            return false;
    }
    return true;
}

QString render(const std::vector<Token> &t, size_t from, size_t to)
{
    QString out;
    out.reserve(qsizetype(to - from) * 4);
    for (size_t k = from; k < to; ++k) {
        if (t[k].spaceBefore && k > from)
            out += QLatin1Char(' ');
        out += t[k].text;
    }
    return out;
}

std::vector<Token> collapseLists(const std::vector<Token> &t)
{
    std::vector<Token> out;
    out.reserve(t.size());
    size_t i = 0;
    while (i < t.size()) {
        out.push_back(t[i]);
        if (isWord(t[i], QLatin1String("IN"))) {
            const qsizetype close = flatGroupEnd(t, i + 1);
            if (close > 0 && isPlaceholderList(t, i + 1, size_t(close))) {
                out.push_back(Token{Tok::Collapsed, u"(?...)", t[i + 1].spaceBefore});
                i = size_t(close) + 1;
                continue;
            }
        } else if (isWord(t[i], QLatin1String("VALUES"))) {
            const qsizetype firstClose = flatGroupEnd(t, i + 1);
            if (firstClose > 0) {
                const QString row = render(t, i + 1, size_t(firstClose) + 1);
                size_t next = size_t(firstClose) + 1;
                int alike = 0;
                while (next + 1 < t.size() && isPunct(t[next], u',')) {
                    const qsizetype close = flatGroupEnd(t, next + 1);
                    if (close < 0 || render(t, next + 1, size_t(close) + 1) != row)
                        break;
                    ++alike;
                    next = size_t(close) + 1;
                }
                if (alike > 0) {
                    out.insert(out.end(), t.begin() + qsizetype(i) + 1, t.begin() + firstClose + 1);
                    out.push_back(Token{Tok::Collapsed, u", ...", false});
                    i = next;
                    continue;
                }
            }
        }
        ++i;
    }
    return out;
}

bool isDml(const QString &normalized)
{
    static const QLatin1String verbs[] = {
        QLatin1String("INSERT"), QLatin1String("UPDATE"), QLatin1String("DELETE"), QLatin1String("REPLACE"),
        QLatin1String("MERGE"),  QLatin1String("UPSERT"), QLatin1String("WITH")};
    qsizetype end = 0;
    while (end < normalized.size() && normalized.at(end).isLetter())
        ++end;
    const QStringView first = QStringView(normalized).left(end);
    return std::any_of(std::begin(verbs), std::end(verbs),
                       [&](QLatin1String v) { return first.compare(v, Qt::CaseInsensitive) == 0; });
}

// ---- error redaction -----------------------------------------------------------------------

bool looksLikeIdentifier(QStringView s)
{
    if (s.isEmpty() || !isIdentStart(s.front()))
        return false;
    return std::all_of(s.begin(), s.end(), [](QChar c) { return isIdentChar(c) || c == u'.'; });
}

QString redactQuotes(const QString &text)
{
    QString out;
    out.reserve(text.size());
    const qsizetype n = text.size();
    qsizetype i = 0;
    while (i < n) {
        const QChar c = text.at(i);
        if (c != u'\'' && c != u'"') {
            out += c;
            ++i;
            continue;
        }
        qsizetype j = i + 1;
        while (j < n) {
            if (text.at(j) == c) {
                if (j + 1 < n && text.at(j + 1) == c) {
                    j += 2;
                    continue;
                }
                break;
            }
            ++j;
        }
        const QStringView content = QStringView(text).mid(i + 1, std::min(j, n) - i - 1);
        bool keep = false;
        if (c == u'"' && j < n && looksLikeIdentifier(content)) {
            // `type integer: "abc"` is a value even when it looks like a name.
            const QStringView before = QStringView(out).trimmed();
            keep = !before.endsWith(u':');
        }
        out += c;
        out += keep ? content.toString() : QStringLiteral("?");
        if (j < n)
            out += c;
        i = j + 1;
    }
    return out;
}

// ---- connections ---------------------------------------------------------------------------

QString connectionOf(const QSqlDriver *driver)
{
    if (!driver)
        return QStringLiteral("(none)");
    const QVariant tag = driver->property(kConnectionProperty);
    if (tag.isValid())
        return tag.toString();

    // QtSql hands out a connection only to the thread that owns it and warns otherwise, so a
    // thread remembers which names are not its own and tries them again only as a last resort.
    thread_local QSet<QString> t_foreignNames;
    const QStringList names = QSqlDatabase::connectionNames();
    QString found;
    for (int pass = 0; pass < 2 && found.isNull(); ++pass) {
        for (const QString &name : names) {
            if (t_foreignNames.contains(name) != (pass == 1))
                continue;
            const QSqlDatabase db = QSqlDatabase::database(name, false);
            if (!db.isValid()) {
                t_foreignNames.insert(name);
                continue;
            }
            t_foreignNames.remove(name);
            QSqlDriver *d = db.driver();
            if (!d->property(kConnectionProperty).isValid())
                d->setProperty(kConnectionProperty, name);
            if (d == driver) {
                found = name;
                break;
            }
        }
    }
    if (found.isNull()) {
        found = QStringLiteral("(unknown)");
        // QSqlQuery only hands out a const driver; the tag is bookkeeping on our side.
        const_cast<QSqlDriver *>(driver)->setProperty(kConnectionProperty, found);
    }
    return found;
}

// Rows of a SELECT; see the class comment for why a scrollable result is fetched here.
qint64 selectRows(QSqlQuery &query)
{
    const int size = query.size();
    if (size >= 0)
        return size;
    if (query.isForwardOnly())
        return 0;
    qint64 rows = 0;
    while (query.next())
        ++rows;
    query.seek(-1); // back to before the first row; the rows stay in Qt's cache
    return rows;
}

SqlProfilerOptions sanitized(SqlProfilerOptions o)
{
    o.maxStatements = std::max(1, o.maxStatements);
    o.slowLogSize = std::max(0, o.slowLogSize);
    return o;
}

double bucketMid(int index)
{
    const quint64 lo = Histogram::bucketLower(index);
    const quint64 hi = Histogram::bucketUpper(index);
    return hi - lo <= 1 ? double(lo) : (double(lo) + double(hi - 1)) / 2.0;
}

} // namespace

// ---- SqlProfiler ---------------------------------------------------------------------------

void SqlProfiler::SparseHistogram::record(qint64 value)
{
    value = std::max<qint64>(0, value);
    const int index = Histogram::bucketIndex(quint64(value));
    auto it = std::lower_bound(buckets.begin(), buckets.end(), index,
                               [](const std::pair<int, quint64> &b, int i) { return b.first < i; });
    if (it != buckets.end() && it->first == index)
        ++it->second;
    else
        buckets.insert(it, {index, 1});
    min = count == 0 ? value : std::min(min, value);
    max = count == 0 ? value : std::max(max, value);
    ++count;
}

// Same definition as HistogramCounts::quantile(): nearest rank, bucket midpoint, clamped to
// the exact extremes.
double SqlProfiler::SparseHistogram::quantile(double q) const
{
    if (count == 0)
        return 0;
    const quint64 rank = std::max<quint64>(1, quint64(std::ceil(std::clamp(q, 0.0, 1.0) * double(count))));
    quint64 seen = 0;
    for (const auto &[index, n] : buckets) {
        seen += n;
        if (seen >= rank)
            return std::clamp(bucketMid(index), double(min), double(max));
    }
    return double(max);
}

SqlProfiler::SqlProfiler(MetricsRegistry *registry, const SqlProfilerOptions &options, Clock *clock)
    : m_clock(clock), m_wallOriginMs(QDateTime::currentMSecsSinceEpoch()), m_monoOriginNs(clock->nowNs()),
      m_options(sanitized(options))
{
    if (registry) {
        const QString queriesHelp = QStringLiteral("SQL queries run, by outcome");
        m_ok = registry->counter(QStringLiteral("sql_queries"),
                                 {{QStringLiteral("outcome"), QStringLiteral("ok")}}, queriesHelp);
        m_error = registry->counter(QStringLiteral("sql_queries"),
                                    {{QStringLiteral("outcome"), QStringLiteral("error")}}, queriesHelp);
        m_slow = registry->counter(QStringLiteral("sql_slow_queries"), {},
                                   QStringLiteral("SQL queries at or above the slow threshold"));
        m_evicted =
            registry->counter(QStringLiteral("sql_statements_evicted"), {},
                              QStringLiteral("Statements dropped from the SQL profiler to stay bounded"));
        m_duration = registry->histogram(QStringLiteral("sql_query_duration"), {},
                                         QStringLiteral("SQL query duration"), Unit::Nanoseconds);
        m_tracked =
            registry->gauge(QStringLiteral("sql_statements_tracked"), {},
                            QStringLiteral("Distinct normalised statements tracked by the SQL profiler"));
    }
}

SqlProfiler::~SqlProfiler() = default;

QString SqlProfiler::normalize(const QString &sql)
{
    std::vector<Token> tokens = Lexer(sql).run();
    while (!tokens.empty() && isPunct(tokens.back(), u';'))
        tokens.pop_back();
    tokens = collapseLists(tokens);
    return render(tokens, 0, tokens.size());
}

QString SqlProfiler::redactError(const QString &errorText)
{
    // One set per thread: QRegularExpression is documented as reentrant, not thread-safe,
    // and errors are rare enough that compiling per thread costs nothing.
    thread_local const QRegularExpression lineExcerpt(QStringLiteral("^(\\s*LINE \\d+:).*$"));
    thread_local const QRegularExpression caret(QStringLiteral("^\\s*\\^\\s*$"));
    thread_local const QRegularExpression keyValues(QStringLiteral("(Key \\(.*?\\)=\\().*(\\))"));
    thread_local const QRegularExpression failingRow(QStringLiteral("(Failing row contains \\().*(\\))"));

    QStringList kept;
    const QStringList lines = errorText.split(QLatin1Char('\n'));
    for (QString line : lines) {
        if (caret.match(line).hasMatch())
            continue;
        line.replace(lineExcerpt, QStringLiteral("\\1 (query text omitted)"));
        line.replace(keyValues, QStringLiteral("\\1?\\2"));
        line.replace(failingRow, QStringLiteral("\\1?\\2"));
        kept.append(redactQuotes(line));
    }
    return kept.join(QLatin1Char('\n'));
}

bool SqlProfiler::exec(QSqlQuery &query, const QString &correlationId)
{
    const qint64 startNs = m_clock->nowNs();
    const bool ok = query.exec();
    return finishExec(query, query.lastQuery(), ok, startNs, -1, correlationId);
}

bool SqlProfiler::exec(QSqlQuery &query, const QString &sql, const QString &correlationId)
{
    const qint64 startNs = m_clock->nowNs();
    const bool ok = query.exec(sql);
    return finishExec(query, sql, ok, startNs, -1, correlationId);
}

bool SqlProfiler::execBatch(QSqlQuery &query, const QString &correlationId)
{
    const qint64 startNs = m_clock->nowNs();
    const bool ok = query.execBatch();
    qint64 rows = 0;
    if (ok) {
        const QSqlDriver *driver = query.driver();
        if (driver && driver->hasFeature(QSqlDriver::BatchOperations)) {
            rows = query.numRowsAffected();
        } else {
            // Only the count of the sets is taken from the bound lists, never a value.
            const QVariantList columns = query.boundValues();
            rows = columns.isEmpty() ? 0 : columns.first().toList().size();
        }
    }
    return finishExec(query, query.lastQuery(), ok, startNs, rows, correlationId);
}

bool SqlProfiler::finishExec(QSqlQuery &query, const QString &sql, bool ok, qint64 startNs, qint64 rows,
                             const QString &correlationId)
{
    const bool select = ok && query.isSelect();
    if (select && rows < 0)
        rows = selectRows(query);
    const qint64 endNs = m_clock->nowNs();

    const QString normalized = normalize(sql);
    if (rows < 0)
        rows = ok && isDml(normalized) ? query.numRowsAffected() : 0;
    const QString errorText = ok ? QString() : query.lastError().text();
    recordNormalized(normalized, connectionOf(query.driver()), endNs - startNs, rows, !ok, errorText,
                     correlationId, endNs);
    return ok;
}

void SqlProfiler::record(const QString &sql, const QString &connection, qint64 durationNs, qint64 rows,
                         bool error, const QString &errorText, const QString &correlationId)
{
    recordNormalized(normalize(sql), connection, durationNs, rows, error, errorText, correlationId,
                     m_clock->nowNs());
}

void SqlProfiler::recordNormalized(const QString &normalized, const QString &connection, qint64 durationNs,
                                   qint64 rows, bool error, const QString &errorText,
                                   const QString &correlationId, qint64 nowNs)
{
    durationNs = std::max<qint64>(0, durationNs);
    const quint64 rowCount = quint64(std::max<qint64>(0, rows));
    const double durationMs = double(durationNs) / kNsPerMs;
    if (Counter *outcome = error ? m_error : m_ok)
        outcome->inc();
    if (m_duration)
        m_duration->record(durationNs);
    const QString redactedError = error ? redactError(errorText) : QString();

    QMutexLocker lock(&m_mutex);
    auto it = m_statements.find(normalized);
    if (it == m_statements.end()) {
        while (m_statements.size() >= m_options.maxStatements)
            evictOneLocked();
        it = m_statements.insert(normalized, Statement{});
    }
    Statement &s = it.value();
    ++s.calls;
    s.totalNs += durationNs;
    s.rows += rowCount;
    s.errors += error ? 1 : 0;
    s.lastCallNs = nowNs;
    s.durations.record(durationNs);
    if (m_tracked)
        m_tracked->set(double(m_statements.size()));

    ConnectionUsage &usage = m_connections[connection];
    usage.connection = connection;
    ++usage.queries;
    usage.totalMs += durationMs;
    usage.errors += error ? 1 : 0;

    if (m_options.slowThresholdMs >= 0 && durationMs >= m_options.slowThresholdMs) {
        if (m_slow)
            m_slow->inc();
        if (m_options.slowLogSize > 0) {
            const QString correlation = correlationId.isEmpty() ? currentCorrelationId() : correlationId;
            m_slowLog.push_back(SlowQuery{wallMs(nowNs), normalized, durationMs, correlation, connection,
                                          redactedError, rowCount});
            while (m_slowLog.size() > size_t(m_options.slowLogSize))
                m_slowLog.pop_front();
        }
    }
}

void SqlProfiler::evictOneLocked()
{
    auto victim = m_statements.begin();
    for (auto it = m_statements.begin(); it != m_statements.end(); ++it) {
        const Statement &s = it.value();
        const Statement &v = victim.value();
        if (s.calls < v.calls || (s.calls == v.calls && s.lastCallNs < v.lastCallNs))
            victim = it;
    }
    if (victim == m_statements.end())
        return;
    m_statements.erase(victim);
    ++m_evictions;
    if (m_evicted)
        m_evicted->inc();
}

qint64 SqlProfiler::wallMs(qint64 monoNs) const
{
    return m_wallOriginMs + (monoNs - m_monoOriginNs) / 1000000;
}

void SqlProfiler::registerConnection(const QSqlDatabase &db)
{
    if (QSqlDriver *driver = db.driver())
        driver->setProperty(kConnectionProperty, db.connectionName());
}

QList<StatementStats> SqlProfiler::statements() const
{
    QList<StatementStats> out;
    {
        QMutexLocker lock(&m_mutex);
        out.reserve(m_statements.size());
        for (auto it = m_statements.cbegin(); it != m_statements.cend(); ++it) {
            const Statement &s = it.value();
            StatementStats st;
            st.normalized = it.key();
            st.calls = s.calls;
            st.totalMs = double(s.totalNs) / kNsPerMs;
            st.meanMs = s.calls ? st.totalMs / double(s.calls) : 0;
            st.p95Ms = s.durations.quantile(0.95) / kNsPerMs;
            st.maxMs = double(s.durations.max) / kNsPerMs;
            st.rows = s.rows;
            st.errors = s.errors;
            st.lastCallWallMs = wallMs(s.lastCallNs);
            out.append(std::move(st));
        }
    }
    std::sort(out.begin(), out.end(), [](const StatementStats &a, const StatementStats &b) {
        return a.totalMs != b.totalMs ? a.totalMs > b.totalMs : a.normalized < b.normalized;
    });
    return out;
}

QList<SlowQuery> SqlProfiler::slowLog() const
{
    QMutexLocker lock(&m_mutex);
    return QList<SlowQuery>(m_slowLog.begin(), m_slowLog.end());
}

QList<ConnectionUsage> SqlProfiler::connections() const
{
    QList<ConnectionUsage> out;
    {
        QMutexLocker lock(&m_mutex);
        out = m_connections.values();
    }
    std::sort(out.begin(), out.end(), [](const ConnectionUsage &a, const ConnectionUsage &b) {
        return a.totalMs != b.totalMs ? a.totalMs > b.totalMs : a.connection < b.connection;
    });
    return out;
}

quint64 SqlProfiler::evictions() const
{
    QMutexLocker lock(&m_mutex);
    return m_evictions;
}

void SqlProfiler::resetStats()
{
    QMutexLocker lock(&m_mutex);
    m_statements.clear();
    m_slowLog.clear();
    m_connections.clear();
    m_evictions = 0;
    if (m_tracked)
        m_tracked->set(0);
}

SqlProfilerOptions SqlProfiler::options() const
{
    QMutexLocker lock(&m_mutex);
    return m_options;
}

void SqlProfiler::setSlowThresholdMs(int ms)
{
    QMutexLocker lock(&m_mutex);
    m_options.slowThresholdMs = ms;
}

SqlProfiler::CorrelationScope::CorrelationScope(const QString &id)
    : m_previous(std::exchange(t_correlationId, id))
{
}

SqlProfiler::CorrelationScope::~CorrelationScope()
{
    t_correlationId = std::move(m_previous);
}

QString SqlProfiler::currentCorrelationId()
{
    return t_correlationId;
}

} // namespace vega
