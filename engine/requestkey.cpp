#include "requestkey.h"

#include <QCryptographicHash>
#include <QHash>
#include <QUrlQuery>

#include <QVarLengthArray>

#include <algorithm>
#include <cstring>

namespace vega {

namespace {

bool hasDotSegment(QByteArrayView path)
{
    for (qsizetype i = path.indexOf("/."); i >= 0; i = path.indexOf("/.", i + 1)) {
        const QByteArrayView rest = path.sliced(i + 2);
        if (rest.isEmpty() || rest.front() == '/' || rest == "." || rest.startsWith("./"))
            return true;
    }
    return false;
}

// RFC 3986 section 5.2.4 on an encoded path, appended to out. QUrl::NormalizePathSegments
// in Qt 6.4 turns "/a/./b/../c" into "/a//c", so it is not used.
void appendWithoutDotSegments(QByteArray &out, QByteArrayView path)
{
    QVarLengthArray<QByteArrayView, 16> kept;
    qsizetype from = 1; // after the leading '/'
    for (;;) {
        const qsizetype slash = path.indexOf('/', from);
        const QByteArrayView segment = path.sliced(from, (slash < 0 ? path.size() : slash) - from);
        const bool last = slash < 0;
        if (segment == ".") {
            if (last)
                kept.append(QByteArrayView(""));
        } else if (segment == "..") {
            if (!kept.isEmpty())
                kept.removeLast();
            if (last)
                kept.append(QByteArrayView(""));
        } else {
            kept.append(segment);
        }
        if (last)
            break;
        from = slash + 1;
    }
    if (kept.isEmpty())
        out += '/';
    for (const QByteArrayView segment : std::as_const(kept)) {
        out += '/';
        out += segment;
    }
}

QByteArrayView queryItemKey(QByteArrayView item)
{
    const qsizetype eq = item.indexOf('=');
    return eq < 0 ? item : item.first(eq);
}

using QueryItems = QVarLengthArray<QByteArrayView, 16>;

QueryItems splitQuery(QByteArrayView query)
{
    QueryItems items;
    qsizetype from = 0;
    for (;;) {
        const qsizetype amp = query.indexOf('&', from);
        items.append(query.sliced(from, (amp < 0 ? query.size() : amp) - from));
        if (amp < 0)
            return items;
        from = amp + 1;
    }
}

bool keyLess(QByteArrayView a, QByteArrayView b)
{
    return queryItemKey(a) < queryItemKey(b);
}

} // namespace

const QList<QByteArray> &alwaysVaryingHeaders()
{
    static const QList<QByteArray> headers = {QByteArrayLiteral("authorization"),
                                              QByteArrayLiteral("cookie")};
    return headers;
}

namespace {

/// normalizedUrlBytes() appended to prefix; copy-free when the URL is canonical already.
QByteArray normalizedWithPrefix(QByteArrayView prefix, const QUrl &url, qsizetype reserveExtra = 0)
{
    // QUrl already lower-cases the scheme and a registered host name and decodes
    // percent-encoded unreserved characters.
    QUrl::FormattingOptions options = QUrl::FullyEncoded | QUrl::RemoveUserInfo | QUrl::RemoveFragment;
    const int port = url.port();
    if (port >= 0) {
        const QString scheme = url.scheme();
        if ((port == 80 && scheme == QLatin1String("http")) ||
            (port == 443 && scheme == QLatin1String("https")))
            options |= QUrl::RemovePort;
    }
    const QByteArray encoded = url.toEncoded(options);
    qsizetype pathStart = 0;
    const qsizetype authority = encoded.indexOf("://");
    if (authority >= 0) {
        pathStart = authority + 3;
        while (pathStart < encoded.size() && encoded.at(pathStart) != '/' && encoded.at(pathStart) != '?')
            ++pathStart;
    }
    const qsizetype queryMark = encoded.indexOf('?', pathStart);
    const QByteArrayView all(encoded);
    const QByteArrayView path =
        all.sliced(pathStart, (queryMark < 0 ? encoded.size() : queryMark) - pathStart);
    const QByteArrayView query = queryMark < 0 ? QByteArrayView() : all.sliced(queryMark + 1);
    QueryItems items;
    bool sorted = true;
    if (query.contains('&')) {
        items = splitQuery(query);
        sorted = std::is_sorted(items.begin(), items.end(), keyLess);
    }
    const bool dots = hasDotSegment(path);

    QByteArray result;
    result.reserve(prefix.size() + encoded.size() + 1 + reserveExtra);
    result += prefix;
    if (!dots && !path.isEmpty() && sorted && (queryMark < 0 || !query.isEmpty())) {
        result += all; // already canonical
        return result;
    }
    result += all.first(pathStart);
    if (path.isEmpty())
        result += '/';
    else if (dots)
        appendWithoutDotSegments(result, path);
    else
        result += path;
    if (!query.isEmpty()) {
        result += '?';
        if (sorted) {
            result += query;
        } else {
            std::stable_sort(items.begin(), items.end(), keyLess);
            for (qsizetype i = 0; i < items.size(); ++i) {
                if (i)
                    result += '&';
                result += items.at(i);
            }
        }
    }
    return result;
}

bool isUpper(const QByteArray &s)
{
    return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

} // namespace

QByteArray normalizedUrlBytes(const QUrl &url)
{
    return normalizedWithPrefix({}, url);
}

QUrl normalizeUrl(const QUrl &url)
{
    return QUrl::fromEncoded(normalizedUrlBytes(url));
}

QByteArray headerValue(const HeaderList &headers, const QByteArray &name)
{
    for (const auto &h : headers)
        if (h.first.size() == name.size() &&
            qstrnicmp(h.first.constData(), name.constData(), name.size()) == 0)
            return h.second;
    return {};
}

namespace {
/// BLAKE2s-256 of the varying data, 128 bits in hex. Programs send the same few credentials
/// over and over, so each thread remembers the digests of the last ones it hashed: a lookup
/// costs a hash-table probe instead of a BLAKE2s run (which was ~40% of a coalescer lookup).
/// The table is small and per thread, and holds only values the requests themselves carry.
QByteArray varyDigest(const QByteArray &material)
{
    constexpr qsizetype kRemembered = 256;
    thread_local QHash<QByteArray, QByteArray> recent;
    const auto found = recent.constFind(material);
    if (found != recent.constEnd())
        return *found;
    const QByteArray digest = QCryptographicHash::hash(material, QCryptographicHash::Blake2s_256).toHex().left(32);
    if (recent.size() >= kRemembered)
        recent.clear(); // a burst of distinct credentials: start over rather than track ages
    recent.insert(material, digest);
    return digest;
}
} // namespace

QByteArray requestKey(const QByteArray &method, const QUrl &url, const QByteArray &body,
                      const HeaderList &headers, const QList<QByteArray> &extraVary)
{
    // "METHOD " and the URL in one allocation, with room for the hashes.
    const QByteArray upper = isUpper(method) ? method : method.toUpper();
    char prefix[24];
    const bool small = upper.size() < qsizetype(sizeof prefix);
    if (small) {
        memcpy(prefix, upper.constData(), size_t(upper.size()));
        prefix[upper.size()] = ' ';
    }
    const QByteArray spaced = small ? QByteArray() : upper + ' ';
    const QByteArrayView head = small ? QByteArrayView(prefix, upper.size() + 1) : QByteArrayView(spaced);
    QByteArray key =
        normalizedWithPrefix(head, url, (body.isEmpty() ? 0 : 40) + (headers.isEmpty() ? 0 : 40));
    if (!body.isEmpty())
        key += "\n#body=" + QCryptographicHash::hash(body, QCryptographicHash::Blake2s_256).toHex().left(32);

    // Credentials never appear in the key, only a hash that separates callers.
    const QString userInfo = url.userInfo(QUrl::FullyEncoded);
    if (headers.isEmpty() && userInfo.isEmpty())
        return key;
    QByteArray material; // what separates callers; hashed, never kept in the key
    material.reserve(128);
    auto add = [&](QByteArrayView name, QByteArrayView value) {
        material.append(name);
        material.append('\0');
        material.append(value);
        material.append('\0');
    };
    if (!userInfo.isEmpty())
        add("\x01userinfo", userInfo.toUtf8());
    auto addHeader = [&](const QByteArray &lowerName) {
        for (const auto &h : headers)
            if (h.first.compare(lowerName, Qt::CaseInsensitive) == 0)
                add(lowerName, h.second);
    };
    for (const QByteArray &name : alwaysVaryingHeaders()) // already lower case
        addHeader(name);
    for (const QByteArray &name : extraVary) {
        const QByteArray lower = name.toLower();
        if (!alwaysVaryingHeaders().contains(lower))
            addHeader(lower);
    }
    if (!material.isEmpty())
        key += "\n#vary=" + varyDigest(material);
    return key;
}

QString displayKey(const QByteArray &key)
{
    const qsizetype newline = key.indexOf('\n');
    const QByteArray head = newline < 0 ? key : key.left(newline);
    const qsizetype space = head.indexOf(' ');
    QUrl url = QUrl::fromEncoded(head.mid(space + 1));
    if (url.hasQuery()) {
        QUrlQuery query(url);
        auto items = query.queryItems();
        for (auto &item : items)
            item.second = QStringLiteral("…");
        QUrlQuery hidden;
        hidden.setQueryItems(items);
        url.setQuery(hidden);
    }
    url.setUserInfo(QString());
    const bool varies = key.contains("\n#vary=");
    const bool hasBody = key.contains("\n#body=");
    return QString::fromLatin1(head.left(space)) + QLatin1Char(' ') + url.toDisplayString() +
           (hasBody ? QStringLiteral(" (with body)") : QString()) +
           (varies ? QStringLiteral(" (per caller)") : QString());
}

} // namespace vega
