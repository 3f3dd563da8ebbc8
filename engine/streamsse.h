#pragma once

#include <QByteArray>
#include <QList>
#include <QString>

namespace vega {

/// One server-sent event, as dispatched by SseParser.
struct SseEvent {
    QByteArray type = QByteArrayLiteral("message"); ///< the "event:" field, "message" when absent
    QByteArray data;                                ///< "data:" lines joined with '\n'
    QByteArray lastEventId;                         ///< the last "id:" seen so far on the stream
    int retryMs = -1;                               ///< the last valid "retry:" seen so far, -1 if none
};

/**
 * An incremental parser for `text/event-stream` (the WHATWG "server-sent events" format).
 * Bytes may be fed in pieces of any size: a line or an event split over several network
 * reads (even a CR and its LF) gives the same events as the whole stream fed at once.
 *
 * Lines end with CRLF, LF or CR; a leading UTF-8 BOM is skipped; lines starting with ':' are
 * comments; "field: value" loses one space after the colon; an empty line dispatches the
 * event when its data is non-empty. Unknown fields are ignored.
 *
 * Memory is bounded: a line or an event's data longer than maxEventBytes puts the parser in
 * the error state (errorString() says why) and it ignores further input.
 */
class SseParser {
public:
    static constexpr qsizetype kDefaultMaxEventBytes = 8 * 1024 * 1024;

    explicit SseParser(qsizetype maxEventBytes = kDefaultMaxEventBytes) : m_maxEventBytes(maxEventBytes) {}

    /// Parses @p bytes and returns the events completed by them (possibly none).
    QList<SseEvent> feed(const QByteArray &bytes);

    bool hasError() const { return !m_error.isEmpty(); }
    QString errorString() const { return m_error; }
    /// Bytes held for an incomplete line or event.
    qsizetype pendingBytes() const { return m_line.size() + m_data.size(); }

private:
    void processLine(QList<SseEvent> &out);

    qsizetype m_maxEventBytes;
    QByteArray m_line;        // the current, unterminated line
    QByteArray m_data;        // data of the event being built
    QByteArray m_type;        // its "event:" field
    QByteArray m_lastEventId; // persists across events, as the format specifies
    int m_retryMs = -1;
    bool m_hasData = false;  // a data line was seen (the data itself may be empty)
    bool m_afterCR = false;  // the previous byte was a CR: an LF right after it ends nothing
    bool m_bomChecked = false;
    QString m_error;
};

} // namespace vega
