#include "requestkey.h"

#include <QCryptographicHash>
#include <QUrlQuery>

#include <algorithm>

namespace vega {

namespace {

bool hasDotSegment(QByteArrayView path);

// RFC 3986 section 5.2.4 on an encoded path. QUrl::NormalizePathSegments in Qt 6.4 turns
// "/a/./b/../c" into "/a//c", so it is not used.
QByteArray removeDotSegments(const QByteArray &path)
{
    if (!hasDotSegment(path))
        return path;
    QList<QByteArray> out;
    const QList<QByteArray> segments = path.split('/');
    // segments[0] is the empty text before the leading '/'.
    for (qsizetype i = 1; i < segments.size(); ++i) {
        const QByteArray &s = segments.at(i);
        const bool last = i == segments.size() - 1;
        if (s == ".") {
            if (last)
                out.append(QByteArray());
        } else if (s == "..") {
            if (!out.isEmpty())
                out.removeLast();
            if (last)
                out.append(QByteArray());
        } else {
            out.append(s);
        }
    }
    QByteArray result;
    result.reserve(path.size());
    for (const QByteArray &s : std::as_const(out)) {
        result += '/';
        result += s;
    }
    return result.isEmpty() ? QByteArrayLiteral("/") : result;
}

bool hasDotSegment(QByteArrayView path)
{
    for (qsizetype i = path.indexOf("/."); i >= 0; i = path.indexOf("/.", i + 1)) {
        const QByteArrayView rest = path.sliced(i + 2);
        if (rest.isEmpty() || rest.front() == '/' || rest == "." || rest.startsWith("./"))
            return true;
    }
    return false;
}

QByteArrayView queryItemKey(QByteArrayView item)
{
    const qsizetype eq = item.indexOf('=');
    return eq < 0 ? item : item.first(eq);
}

// Query items sorted by key; items with the same key keep their order, which matters.
QByteArray sortedQuery(const QByteArray &query)
{
    if (!query.contains('&'))
        return query;
    QList<QByteArrayView> items;
    qsizetype from = 0;
    for (;;) {
        const qsizetype amp = query.indexOf('&', from);
        items.append(QByteArrayView(query).sliced(from, (amp < 0 ? query.size() : amp) - from));
        if (amp < 0)
            break;
        from = amp + 1;
    }
    std::stable_sort(items.begin(), items.end(),
                     [](QByteArrayView a, QByteArrayView b) { return queryItemKey(a) < queryItemKey(b); });
    QByteArray result;
    result.reserve(query.size());
    for (const QByteArrayView item : std::as_const(items)) {
        if (!result.isEmpty())
            result += '&';
        result += item;
    }
    return result;
}

bool isUpper(const QByteArray &s)
{
    return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

} // namespace

const QList<QByteArray> &alwaysVaryingHeaders()
{
    static const QList<QByteArray> headers = {QByteArrayLiteral("authorization"), QByteArrayLiteral("cookie")};
    return headers;
}

QByteArray normalizedUrlBytes(const QUrl &url)
{
    // QUrl already lower-cases the scheme and a registered host name and decodes
    // percent-encoded unreserved characters.
    QUrl::FormattingOptions options = QUrl::FullyEncoded | QUrl::RemoveUserInfo | QUrl::RemoveFragment;
    const int port = url.port();
    if (port >= 0) {
        const QString scheme = url.scheme();
        if ((port == 80 && scheme == QLatin1String("http")) || (port == 443 && scheme == QLatin1String("https")))
            options |= QUrl::RemovePort;
    }
    QByteArray encoded = url.toEncoded(options);
    qsizetype pathStart = 0;
    const qsizetype authority = encoded.indexOf("://");
    if (authority >= 0) {
        pathStart = authority + 3;
        while (pathStart < encoded.size() && encoded.at(pathStart) != '/' && encoded.at(pathStart) != '?')
            ++pathStart;
    }
    const qsizetype queryMark = encoded.indexOf('?', pathStart);
    const qsizetype pathEnd = queryMark < 0 ? encoded.size() : queryMark;
    const QByteArrayView pathView = QByteArrayView(encoded).sliced(pathStart, pathEnd - pathStart);
    // Most URLs are canonical already: no copy then.
    if (!pathView.isEmpty() && !hasDotSegment(pathView) &&
        (queryMark < 0 || (queryMark + 1 < encoded.size() && !encoded.contains('&'))))
        return encoded;
    const QByteArray path = pathView.toByteArray();
    const QByteArray query = queryMark < 0 ? QByteArray() : encoded.mid(queryMark + 1);

    QByteArray result = encoded.left(pathStart);
    result.reserve(encoded.size() + 1);
    result += path.isEmpty() ? QByteArrayLiteral("/") : removeDotSegments(path);
    if (!query.isEmpty()) {
        result += '?';
        result += sortedQuery(query);
    }
    return result;
}

QUrl normalizeUrl(const QUrl &url)
{
    return QUrl::fromEncoded(normalizedUrlBytes(url));
}

QByteArray headerValue(const HeaderList &headers, const QByteArray &name)
{
    for (const auto &h : headers)
        if (h.first.size() == name.size() && qstrnicmp(h.first.constData(), name.constData(), name.size()) == 0)
            return h.second;
    return {};
}

QByteArray requestKey(const QByteArray &method, const QUrl &url, const QByteArray &body, const HeaderList &headers,
                      const QList<QByteArray> &extraVary)
{
    const QByteArray normalized = normalizedUrlBytes(url);
    QByteArray key;
    key.reserve(method.size() + 1 + normalized.size() + (body.isEmpty() ? 0 : 40) + (headers.isEmpty() ? 0 : 40));
    key += isUpper(method) ? method : method.toUpper();
    key += ' ';
    key += normalized;
    if (!body.isEmpty())
        key += "\n#body=" + QCryptographicHash::hash(body, QCryptographicHash::Sha256).toHex().left(32);

    // Credentials never appear in the key, only a hash that separates callers.
    const QString userInfo = url.userInfo(QUrl::FullyEncoded);
    if (headers.isEmpty() && userInfo.isEmpty())
        return key;
    QCryptographicHash vary(QCryptographicHash::Sha256);
    bool anyVary = false;
    auto add = [&](QByteArrayView name, QByteArrayView value) {
        vary.addData(name);
        vary.addData(QByteArrayView("\0", 1));
        vary.addData(value);
        vary.addData(QByteArrayView("\0", 1));
        anyVary = true;
    };
    if (!userInfo.isEmpty())
        add("\x01userinfo", userInfo.toUtf8());
    auto addHeader = [&](const QByteArray &name) {
        const QByteArray lower = name.toLower();
        for (const auto &h : headers)
            if (h.first.compare(name, Qt::CaseInsensitive) == 0)
                add(lower, h.second);
    };
    for (const QByteArray &name : alwaysVaryingHeaders())
        addHeader(name);
    for (const QByteArray &name : extraVary)
        if (!alwaysVaryingHeaders().contains(name.toLower()))
            addHeader(name);
    if (anyVary)
        key += "\n#vary=" + vary.result().toHex().left(32);
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
           (hasBody ? QStringLiteral(" (with body)") : QString()) + (varies ? QStringLiteral(" (per caller)") : QString());
}

} // namespace vega
