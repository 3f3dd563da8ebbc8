#include "streamsse.h"

#include <utility>

namespace vega {

QList<SseEvent> SseParser::feed(const QByteArray &bytes)
{
    QList<SseEvent> out;
    if (hasError() || bytes.isEmpty())
        return out;
    qsizetype i = 0;
    if (!m_bomChecked) {
        // The BOM may itself arrive split; wait until three bytes (or a mismatch) are known.
        const QByteArray head = m_line + bytes.left(3);
        static const QByteArray bom = QByteArrayLiteral("\xEF\xBB\xBF");
        if (head.size() < 3 && bom.startsWith(head)) {
            m_line = head;
            return out;
        }
        m_bomChecked = true;
        if (head.startsWith(bom)) {
            i = 3 - m_line.size();
            m_line.clear();
        }
    }
    const char *p = bytes.constData();
    const qsizetype n = bytes.size();
    while (i < n) {
        const char c = p[i];
        if (c == '\n' && m_afterCR) {
            m_afterCR = false;
            ++i;
            continue;
        }
        m_afterCR = false;
        if (c == '\r' || c == '\n') {
            m_afterCR = c == '\r';
            processLine(out);
            if (hasError())
                return out;
            ++i;
            continue;
        }
        // Copy the run up to the next line end in one go.
        qsizetype j = i;
        while (j < n && p[j] != '\r' && p[j] != '\n')
            ++j;
        m_line.append(p + i, j - i);
        if (m_line.size() + m_data.size() > m_maxEventBytes) {
            m_error = QStringLiteral("server-sent event larger than %1 bytes").arg(m_maxEventBytes);
            m_line.clear();
            m_data.clear();
            return out;
        }
        i = j;
    }
    return out;
}

void SseParser::processLine(QList<SseEvent> &out)
{
    const QByteArray line = std::exchange(m_line, QByteArray());
    if (line.isEmpty()) {
        if (m_hasData) {
            SseEvent e;
            if (!m_type.isEmpty())
                e.type = m_type;
            e.data = m_data;
            e.lastEventId = m_lastEventId;
            e.retryMs = m_retryMs;
            out.append(std::move(e));
        }
        m_data.clear();
        m_type.clear();
        m_hasData = false;
        return;
    }
    if (line.startsWith(':'))
        return;
    const qsizetype colon = line.indexOf(':');
    QByteArray field = colon < 0 ? line : line.left(colon);
    QByteArray value;
    if (colon >= 0) {
        qsizetype start = colon + 1;
        if (start < line.size() && line.at(start) == ' ')
            ++start;
        value = line.mid(start);
    }
    if (field == "data") {
        if (m_hasData)
            m_data.append('\n');
        m_data.append(value);
        m_hasData = true;
        if (m_data.size() > m_maxEventBytes) {
            m_error = QStringLiteral("server-sent event larger than %1 bytes").arg(m_maxEventBytes);
            m_data.clear();
        }
    } else if (field == "event") {
        m_type = value;
    } else if (field == "id") {
        if (!value.contains('\0'))
            m_lastEventId = value;
    } else if (field == "retry") {
        bool ok = !value.isEmpty();
        for (char c : std::as_const(value))
            ok = ok && c >= '0' && c <= '9';
        const int ms = ok ? value.toInt(&ok) : 0;
        if (ok)
            m_retryMs = ms;
    }
}

} // namespace vega
