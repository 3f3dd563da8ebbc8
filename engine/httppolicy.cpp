#include "httppolicy.h"

namespace vega {

HttpPolicy HttpConfig::policyFor(const QUrl &url) const
{
    const QString host = url.host().toLower();
    const int port = url.port(url.scheme() == QLatin1String("https") ? 443 : 80);
    const auto withPort = hosts.constFind(host + QLatin1Char(':') + QString::number(port));
    if (withPort != hosts.constEnd())
        return *withPort;
    const auto plain = hosts.constFind(host);
    return plain != hosts.constEnd() ? *plain : defaults;
}

} // namespace vega
