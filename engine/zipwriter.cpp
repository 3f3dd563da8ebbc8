#include "zipwriter.h"

#include <QFileDevice>
#include <QIODevice>
#include <QStringList>
#include <algorithm>
#include <array>

namespace vega {

namespace {

constexpr quint32 kLocalHeaderSignature = 0x04034b50;
constexpr quint32 kCentralHeaderSignature = 0x02014b50;
constexpr quint32 kEndSignature = 0x06054b50;
constexpr quint16 kFlagUtf8 = 0x0800;         // general purpose bit 11: name is UTF-8
constexpr quint16 kMadeBy = (3 << 8) | 63;    // Unix, APPNOTE 6.3
constexpr quint16 kMethodStore = 0;
constexpr quint16 kMethodDeflate = 8;
constexpr quint32 kUnixRegularFile = 0100644; // -rw-r--r--
constexpr quint16 kExtendedTimestamp = 0x5455; // "UT" extra field
constexpr int kLocalHeaderSize = 30;
constexpr int kCentralHeaderSize = 46;
constexpr int kEndRecordSize = 22;

constexpr std::array<quint32, 256> makeCrcTable()
{
    std::array<quint32, 256> table{};
    for (quint32 i = 0; i < 256; ++i) {
        quint32 c = i;
        for (int k = 0; k < 8; ++k)
            c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr std::array<quint32, 256> kCrcTable = makeCrcTable();

void put16(QByteArray &out, quint16 v)
{
    const char b[2] = {char(v & 0xFF), char(v >> 8)};
    out.append(b, 2);
}

void put32(QByteArray &out, quint32 v)
{
    const char b[4] = {char(v & 0xFF), char((v >> 8) & 0xFF), char((v >> 16) & 0xFF), char(v >> 24)};
    out.append(b, 4);
}

// DOS time and date fields (2 s resolution), clamped to what they can hold.
void dosDateTime(const QDateTime &utc, quint16 *time, quint16 *date)
{
    static const QDateTime first(QDate(1980, 1, 1), QTime(0, 0), Qt::UTC);
    static const QDateTime last(QDate(2107, 12, 31), QTime(23, 59, 58), Qt::UTC);
    const QDateTime t = utc < first ? first : (utc > last ? last : utc);
    const QDate d = t.date();
    const QTime h = t.time();
    *time = quint16((h.hour() << 11) | (h.minute() << 5) | (h.second() / 2));
    *date = quint16(((d.year() - 1980) << 9) | (d.month() << 5) | d.day());
}

QString sizeText(quint64 bytes)
{
    return QStringLiteral("%1 bytes").arg(bytes);
}

} // namespace

ZipWriter::ZipWriter(QIODevice *device) : m_device(device) {}

ZipWriter::~ZipWriter() = default;

void ZipWriter::setSizeLimit(quint64 bytes)
{
    m_sizeLimit = std::min(bytes, kMaxSize);
}

quint32 ZipWriter::crc32(const QByteArray &data, quint32 crc)
{
    crc = ~crc;
    for (const char ch : data)
        crc = kCrcTable[(crc ^ quint8(ch)) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

QString ZipWriter::nameProblem(const QString &name)
{
    if (name.isEmpty())
        return QStringLiteral("the name is empty");
    if (!name.isValidUtf16())
        return QStringLiteral("the name is not valid Unicode");
    if (name.contains(QLatin1Char('\\')))
        return QStringLiteral("the name contains a backslash (use '/' between folders)");
    if (name.startsWith(QLatin1Char('/')))
        return QStringLiteral("the name is an absolute path (starts with '/')");
    if (name.size() >= 2 && name.at(1) == QLatin1Char(':') && name.at(0).isLetter() && name.at(0).unicode() < 128)
        return QStringLiteral("the name starts with a drive letter");
    for (const QChar c : name)
        if (c.unicode() < 0x20 || c.unicode() == 0x7F)
            return QStringLiteral("the name contains a control character (U+%1)")
                .arg(c.unicode(), 4, 16, QLatin1Char('0'));
    if (name.endsWith(QLatin1Char('/')))
        return QStringLiteral("the name ends with '/' (folders are implied by the names of their files)");
    const QStringList parts = name.split(QLatin1Char('/'));
    for (const QString &part : parts) {
        if (part.isEmpty())
            return QStringLiteral("the name has an empty component ('//')");
        if (part == QLatin1String("."))
            return QStringLiteral("the name has a '.' component");
        if (part == QLatin1String(".."))
            return QStringLiteral("the name has a '..' component");
    }
    if (name.toUtf8().size() > 0xFFFF)
        return QStringLiteral("the name is longer than 65535 bytes in UTF-8");
    return {};
}

bool ZipWriter::fail(const QString &message)
{
    m_error = message;
    return false;
}

bool ZipWriter::write(const QByteArray &bytes)
{
    const qint64 n = m_device->write(bytes);
    if (n > 0)
        m_offset += quint64(n);
    if (n != bytes.size()) {
        m_failed = true;
        const QString why = m_device->errorString();
        return fail(QStringLiteral("Writing the archive failed after %1: %2")
                        .arg(sizeText(m_offset), why.isEmpty() ? QStringLiteral("short write") : why));
    }
    return true;
}

QByteArray ZipWriter::extraField(const Entry &e) const
{
    QByteArray extra;
    if (e.unixTime < 0)
        return extra;
    put16(extra, kExtendedTimestamp);
    put16(extra, 5);
    extra.append(char(1)); // modification time present
    put32(extra, quint32(e.unixTime));
    return extra;
}

bool ZipWriter::addFile(const QString &name, const QByteArray &data, const QDateTime &modified,
                        Compression compression)
{
    if (m_failed)
        return false; // m_error still tells the device failure
    if (m_closed)
        return fail(QStringLiteral("Cannot add \"%1\": the archive is already closed").arg(name));
    if (!m_device || !m_device->isOpen() || !m_device->isWritable())
        return fail(QStringLiteral("Cannot add \"%1\": the device is not open for writing").arg(name));

    auto refuse = [&](const QString &why) {
        return fail(QStringLiteral("Cannot add \"%1\" to the archive: %2").arg(name, why));
    };
    if (const QString problem = nameProblem(name); !problem.isEmpty())
        return refuse(problem);
    const QString folded = name.toCaseFolded();
    if (m_namesFolded.contains(folded))
        return refuse(QStringLiteral("an entry of that name (ignoring case) is already in the archive"));
    if (m_foldersFolded.contains(folded))
        return refuse(QStringLiteral("an earlier entry has a folder of that name"));
    const QStringList parts = folded.split(QLatin1Char('/'));
    QStringList parents;
    for (int i = 1; i < parts.size(); ++i) {
        parents.append(QStringList(parts.mid(0, i)).join(QLatin1Char('/')));
        if (m_namesFolded.contains(parents.last()))
            return refuse(QStringLiteral("its folder \"%1\" is already a file in the archive").arg(parents.last()));
    }
    if (!modified.isValid())
        return refuse(QStringLiteral("the modification time is invalid"));
    if (m_entries.size() >= kMaxEntries)
        return refuse(QStringLiteral("the archive already holds %1 files, the most without ZIP64").arg(kMaxEntries));
    if (quint64(data.size()) > kMaxSize)
        return refuse(QStringLiteral("the file is %1; files above %2 need ZIP64, which is not supported")
                          .arg(sizeText(quint64(data.size())), sizeText(kMaxSize)));

    Entry e;
    e.name = name.toUtf8();
    const QDateTime utc = modified.toUTC();
    dosDateTime(utc, &e.dosTime, &e.dosDate);
    const qint64 secs = utc.toSecsSinceEpoch();
    e.unixTime = (secs >= 0 && secs <= 0x7FFFFFFF) ? secs : -1;
    e.crc = crc32(data);
    e.size = quint32(data.size());

    QByteArray deflated;
    if (compression == Compression::Deflate && !data.isEmpty()) {
        // qCompress: 4-byte big-endian length, 2-byte zlib header, raw deflate, 4-byte Adler-32.
        const QByteArray z = qCompress(data);
        if (z.size() > 10 && z.size() - 10 < data.size())
            deflated = z.mid(6, z.size() - 10);
    }
    const QByteArray &payload = deflated.isEmpty() ? data : deflated;
    e.method = deflated.isEmpty() ? kMethodStore : kMethodDeflate;
    e.compressedSize = quint32(payload.size());

    const QByteArray extra = extraField(e);
    const quint64 localSize = quint64(kLocalHeaderSize + e.name.size() + extra.size()) + quint64(payload.size());
    const quint64 centralSize = quint64(kCentralHeaderSize + e.name.size() + extra.size());
    // The central directory and end record must fit too, so that close() cannot cross the limit.
    const quint64 finalSize = m_offset + localSize + m_centralSize + centralSize + kEndRecordSize;
    if (finalSize > m_sizeLimit)
        return refuse(QStringLiteral("the archive would grow to %1, above its limit of %2%3")
                          .arg(sizeText(finalSize), sizeText(m_sizeLimit),
                               m_sizeLimit == kMaxSize ? QStringLiteral(" (no ZIP64)") : QString()));
    e.offset = quint32(m_offset);

    QByteArray header;
    header.reserve(kLocalHeaderSize + e.name.size() + extra.size());
    put32(header, kLocalHeaderSignature);
    put16(header, e.method == kMethodDeflate ? 20 : 10); // version needed to extract
    put16(header, kFlagUtf8);
    put16(header, e.method);
    put16(header, e.dosTime);
    put16(header, e.dosDate);
    put32(header, e.crc);
    put32(header, e.compressedSize);
    put32(header, e.size);
    put16(header, quint16(e.name.size()));
    put16(header, quint16(extra.size()));
    header += e.name;
    header += extra;
    if (!write(header) || !write(payload))
        return false;

    m_entries.append(e);
    m_centralSize += centralSize;
    m_namesFolded.insert(folded);
    for (const QString &p : std::as_const(parents))
        m_foldersFolded.insert(p);
    m_error.clear();
    return true;
}

bool ZipWriter::close()
{
    if (m_failed)
        return false;
    if (m_closed)
        return m_closeResult;
    if (!m_device || !m_device->isOpen() || !m_device->isWritable())
        return fail(QStringLiteral("Cannot finish the archive: the device is not open for writing"));
    m_closed = true;

    const quint64 centralOffset = m_offset;
    QByteArray central;
    for (const Entry &e : std::as_const(m_entries)) {
        const QByteArray extra = extraField(e);
        put32(central, kCentralHeaderSignature);
        put16(central, kMadeBy);
        put16(central, e.method == kMethodDeflate ? 20 : 10);
        put16(central, kFlagUtf8);
        put16(central, e.method);
        put16(central, e.dosTime);
        put16(central, e.dosDate);
        put32(central, e.crc);
        put32(central, e.compressedSize);
        put32(central, e.size);
        put16(central, quint16(e.name.size()));
        put16(central, quint16(extra.size()));
        put16(central, 0); // comment length
        put16(central, 0); // disk number start
        put16(central, 0); // internal attributes
        put32(central, kUnixRegularFile << 16);
        put32(central, e.offset);
        central += e.name;
        central += extra;
    }
    QByteArray end;
    put32(end, kEndSignature);
    put16(end, 0); // this disk
    put16(end, 0); // disk with the central directory
    put16(end, quint16(m_entries.size()));
    put16(end, quint16(m_entries.size()));
    put32(end, quint32(central.size()));
    put32(end, quint32(centralOffset));
    put16(end, 0); // comment length

    m_closeResult = write(central) && write(end);
    if (m_closeResult) {
        if (auto *file = qobject_cast<QFileDevice *>(m_device); file && !file->flush()) {
            m_failed = true;
            m_closeResult = fail(QStringLiteral("Writing the archive failed: %1").arg(file->errorString()));
        }
    }
    if (m_closeResult)
        m_error.clear();
    return m_closeResult;
}

} // namespace vega
