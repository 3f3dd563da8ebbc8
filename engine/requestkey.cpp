#include "requestkey.h"

#include <QCryptographicHash>
#include <QUrlQuery>

#include <algorithm>

namespace vega {

const QList<QByteArray> &alwaysVaryingHeaders()
{
    static const QList<QByteArray> headers = {QByteArrayLiteral("authorization"), QByteArrayLiteral("cookie")};
    return headers;
}

QUrl normalizeUrl(const QUrl &input)
{
    QUrl url = input.adjusted(QUrl::NormalizePathSegments | QUrl::RemoveFragment);
    url.setScheme(url.scheme().toLower());
    url.setHost(url.host().toLower());
    if ((url.scheme() == QLatin1String("http") && url.port() == 80) ||
        (url.scheme() == QLatin1String("https") && url.port() == 443))
        url.setPort(-1);
    if (url.path().isEmpty())
        url.setPath(QStringLiteral("/"));
    if (url.hasQuery()) {
        QUrlQuery query(url);
        auto items = query.queryItems(QUrl::FullyEncoded);
        std::stable_sort(items.begin(), items.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
        QUrlQuery sorted;
        sorted.setQueryItems(items);
        url.setQuery(sorted.query(QUrl::FullyEncoded), QUrl::StrictMode);
    }
    return url;
}

QByteArray headerValue(const HeaderList &headers, const QByteArray &name)
{
    for (const auto &h : headers)
        if (h.first.compare(name, Qt::CaseInsensitive) == 0)
            return h.second;
    return {};
}

QByteArray requestKey(const QByteArray &method, const QUrl &url, const QByteArray &body, const HeaderList &headers,
                      const QList<QByteArray> &extraVary)
{
    QByteArray key = method.toUpper() + ' ' + normalizeUrl(url).toEncoded();
    if (!body.isEmpty())
        key += "\n#body=" + QCryptographicHash::hash(body, QCryptographicHash::Sha256).toHex().left(32);
    QCryptographicHash vary(QCryptographicHash::Sha256);
    bool anyVary = false;
    auto addHeader = [&](const QByteArray &name) {
        for (const auto &h : headers) {
            if (h.first.compare(name, Qt::CaseInsensitive) != 0)
                continue;
            vary.addData(name.toLower());
            vary.addData(QByteArrayView("\0", 1));
            vary.addData(h.second);
            vary.addData(QByteArrayView("\0", 1));
            anyVary = true;
        }
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
    const QByteArray head = key.left(key.indexOf('\n') < 0 ? key.size() : key.indexOf('\n'));
    const int space = head.indexOf(' ');
    QUrl url(QString::fromUtf8(head.mid(space + 1)));
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
    return QString::fromLatin1(head.left(space)) + QLatin1Char(' ') + url.toDisplayString() +
           (varies ? QStringLiteral(" (per caller)") : QString());
}

} // namespace vega
