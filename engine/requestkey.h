#pragma once

#include <QByteArray>
#include <QList>
#include <QPair>
#include <QUrl>

namespace vega {

using HeaderList = QList<QPair<QByteArray, QByteArray>>;

/// Headers that always change who a response is for: two callers that differ in one of
/// them never share a coalesced call or a cached response.
const QList<QByteArray> &alwaysVaryingHeaders();

/// The URL in canonical form: lower-case scheme and host, default port dropped, dot
/// segments resolved, query items sorted by key (stable), fragment dropped.
QUrl normalizeUrl(const QUrl &url);

/**
 * The identity of a request for coalescing and caching:
 * "<METHOD> <normalised URL>" followed, when present, by a SHA-256 of the body and of the
 * varying headers (Authorization, Cookie and any `extraVary`). Secrets are hashed, never
 * kept in the key. Keys of one URL share the "<METHOD> <URL>" prefix, so invalidating by
 * prefix works.
 */
QByteArray requestKey(const QByteArray &method, const QUrl &url, const QByteArray &body, const HeaderList &headers,
                      const QList<QByteArray> &extraVary = {});

/// The part of a key that is safe to show (method and URL, query values hidden).
QString displayKey(const QByteArray &key);

/// Case-insensitive header lookup (first match).
QByteArray headerValue(const HeaderList &headers, const QByteArray &name);

} // namespace vega
