#pragma once

#include <QByteArray>
#include <QDateTime>
#include <QList>
#include <QSet>
#include <QString>

class QIODevice;

namespace vega {

/**
 * Writes a PKZIP archive (APPNOTE 6.3) to a device, one whole file at a time: local file
 * header + data per file, then the central directory and the end record on close(). Needs
 * no seeking, so files, buffers and sockets all work. No ZIP64: the archive and every file
 * stay below 4 GiB (see setSizeLimit()). Not thread-safe; use from one thread.
 *
 * - Names are UTF-8 (general purpose bit 11), '/'-separated, relative: addFile() refuses
 *   an empty name, a leading '/', a drive letter ("C:"), a backslash, control characters,
 *   empty, "." or ".." components, a trailing '/', and a name equal (case-insensitively) to
 *   one already added or clashing with one as file vs folder. Folders are implied by names.
 * - Times: DOS date/time fields from the given time in UTC (2-second resolution, clamped to
 *   1980..2107) plus an "extended timestamp" extra field (0x5455) with the exact UTC second,
 *   which unzip prefers, so a listing shows the same instant whatever the reader's zone.
 * - Deflate (method 8) via qCompress() with the zlib framing removed; a file that deflate
 *   does not shrink is stored (method 0).
 *
 * Errors: a refused file (bad name, too big) leaves the archive intact and usable. A write
 * error of the device is sticky: every later call fails with the same errorString(), and the
 * output is not a valid archive.
 */
class ZipWriter {
public:
    enum class Compression { Store, Deflate };

    /// Largest archive (and file) size without ZIP64: 4 GiB - 1.
    static constexpr quint64 kMaxSize = 0xFFFFFFFFull;
    /// Most entries without ZIP64.
    static constexpr int kMaxEntries = 0xFFFF;

    /// @p device must be open for writing and outlive the writer; it is not owned, and the
    /// archive starts at its current position (offsets are counted from there).
    explicit ZipWriter(QIODevice *device);
    ~ZipWriter();
    ZipWriter(const ZipWriter &) = delete;
    ZipWriter &operator=(const ZipWriter &) = delete;

    /// Refuse to let the archive grow beyond @p bytes (clamped to kMaxSize, the default).
    /// A file that would cross it is refused with an error and nothing of it is written.
    void setSizeLimit(quint64 bytes);
    quint64 sizeLimit() const { return m_sizeLimit; }

    /// Adds one file. @p modified is converted to UTC; an invalid time is refused.
    /// Returns false (see errorString()) if the file was refused or the device failed.
    bool addFile(const QString &name, const QByteArray &data,
                 const QDateTime &modified = QDateTime::currentDateTimeUtc(),
                 Compression compression = Compression::Deflate);

    /// Writes the central directory and end record, then flushes a file device. Does not
    /// close the device. The destructor does not do this: an archive never close()d is
    /// incomplete. Calling it again returns the first result; addFile() after it fails.
    bool close();

    bool isClosed() const { return m_closed; }
    /// Why the last call failed (naming the file and the problem); empty after a success.
    QString errorString() const { return m_error; }
    int entryCount() const { return int(m_entries.size()); }
    /// Bytes written so far.
    quint64 bytesWritten() const { return m_offset; }

    /// CRC-32 (ISO 3309 / ZIP) of @p data, continuing from @p crc.
    static quint32 crc32(const QByteArray &data, quint32 crc = 0);
    /// Why @p name cannot be an entry name in any archive, or empty if it can.
    static QString nameProblem(const QString &name);

private:
    struct Entry {
        QByteArray name; // UTF-8
        quint16 method = 0;
        quint16 dosTime = 0;
        quint16 dosDate = 0;
        qint64 unixTime = -1; // -1: no extended timestamp field
        quint32 crc = 0;
        quint32 compressedSize = 0;
        quint32 size = 0;
        quint32 offset = 0;
    };

    bool write(const QByteArray &bytes);
    bool fail(const QString &message);
    QByteArray extraField(const Entry &e) const;

    QIODevice *m_device;
    quint64 m_offset = 0;
    quint64 m_centralSize = 0; // bytes the central directory will take for m_entries
    quint64 m_sizeLimit = kMaxSize;
    QList<Entry> m_entries;
    QSet<QString> m_namesFolded;  // case-folded names of files
    QSet<QString> m_foldersFolded; // case-folded implied folders ("a", "a/b")
    QString m_error;
    bool m_failed = false; // sticky device failure
    bool m_closed = false;
    bool m_closeResult = false;
};

} // namespace vega
