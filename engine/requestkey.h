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
/// segments resolved (RFC 3986 5.2.4), empty path "/", query items sorted by key (stable:
/// repeated keys keep their order), empty query, fragment and user info dropped.
QUrl normalizeUrl(const QUrl &url);
/// normalizeUrl() fully encoded, as it appears in keys (cheaper than a QUrl round trip).
QByteArray normalizedUrlBytes(const QUrl &url);

/**
 * The identity of a request for coalescing and caching:
 * "<METHOD> <normalised URL>" followed, when present, by a hash (BLAKE2s-256, 128 bits kept)
 * of the body and one of the varying data (Authorization, Cookie, any `extraVary` header and
 * the URL's user info).
 * Credentials are hashed, never kept in the key. Keys of one URL share the "<METHOD> <URL>"
 * prefix, so invalidating by prefix works. Query values do appear (they name the resource);
 * displayKey() hides them.
 */
QByteArray requestKey(const QByteArray &method, const QUrl &url, const QByteArray &body,
                      const HeaderList &headers, const QList<QByteArray> &extraVary = {});

/// The part of a key that is safe to show: method and URL with query values hidden, plus
/// " (with body)" / " (per caller)" when the key has those hashes.
QString displayKey(const QByteArray &key);

/// Case-insensitive header lookup (first match).
QByteArray headerValue(const HeaderList &headers, const QByteArray &name);

} // namespace vega
