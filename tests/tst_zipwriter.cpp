#include "zipwriter.h"

#include <QBuffer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtEndian>
#include <QtTest>

using namespace vega;

namespace {

QString L(const char *s)
{
    return QString::fromUtf8(s);
}

struct Run {
    int exitCode = -1;
    QByteArray out;
    QByteArray err;
};

// Runs unzip (or zipinfo via "unzip -Z") with a UTF-8 locale and UTC as the local zone.
Run unzip(const QStringList &args)
{
    QProcess p;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    env.insert(QStringLiteral("LC_ALL"), QStringLiteral("C.UTF-8"));
    env.insert(QStringLiteral("TZ"), QStringLiteral("UTC"));
    env.remove(QStringLiteral("UNZIP"));
    env.remove(QStringLiteral("ZIPINFO"));
    p.setProcessEnvironment(env);
    p.start(QStandardPaths::findExecutable(QStringLiteral("unzip")), args);
    Run r;
    if (!p.waitForStarted(10000) || !p.waitForFinished(60000))
        return r;
    r.exitCode = p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
    r.out = p.readAllStandardOutput();
    r.err = p.readAllStandardError();
    return r;
}

// An independent reading of the central directory, to check fields unzip does not show.
struct CentralEntry {
    quint16 flags = 0;
    quint16 method = 0;
    quint16 dosTime = 0;
    quint16 dosDate = 0;
    quint32 crc = 0;
    quint32 compressedSize = 0;
    quint32 size = 0;
    QString name;
};

QList<CentralEntry> readCentralDirectory(const QByteArray &zip)
{
    QList<CentralEntry> out;
    const auto *p = reinterpret_cast<const uchar *>(zip.constData());
    if (zip.size() < 22 || qFromLittleEndian<quint32>(p + zip.size() - 22) != 0x06054b50)
        return out;
    const uchar *end = p + zip.size() - 22;
    const quint16 count = qFromLittleEndian<quint16>(end + 10);
    qsizetype pos = qFromLittleEndian<quint32>(end + 16);
    for (int i = 0; i < count; ++i) {
        if (pos + 46 > zip.size() || qFromLittleEndian<quint32>(p + pos) != 0x02014b50)
            return {};
        CentralEntry e;
        e.flags = qFromLittleEndian<quint16>(p + pos + 8);
        e.method = qFromLittleEndian<quint16>(p + pos + 10);
        e.dosTime = qFromLittleEndian<quint16>(p + pos + 12);
        e.dosDate = qFromLittleEndian<quint16>(p + pos + 14);
        e.crc = qFromLittleEndian<quint32>(p + pos + 16);
        e.compressedSize = qFromLittleEndian<quint32>(p + pos + 20);
        e.size = qFromLittleEndian<quint32>(p + pos + 24);
        const quint16 nameLen = qFromLittleEndian<quint16>(p + pos + 28);
        const quint16 extraLen = qFromLittleEndian<quint16>(p + pos + 30);
        const quint16 commentLen = qFromLittleEndian<quint16>(p + pos + 32);
        e.name = QString::fromUtf8(zip.mid(pos + 46, nameLen));
        out.append(e);
        pos += 46 + nameLen + extraLen + commentLen;
    }
    return out;
}

QDateTime fromDos(quint16 time, quint16 date)
{
    return QDateTime(QDate(1980 + (date >> 9), (date >> 5) & 0xF, date & 0x1F),
                     QTime(time >> 11, (time >> 5) & 0x3F, (time & 0x1F) * 2), Qt::UTC);
}

QByteArray allByteValues()
{
    QByteArray b;
    for (int round = 0; round < 4; ++round)
        for (int i = 0; i < 256; ++i)
            b.append(char(round % 2 ? 255 - i : i));
    return b;
}

QByteArray randomBytes(int n, quint32 seed)
{
    QRandomGenerator rng(seed);
    QByteArray b(n, Qt::Uninitialized);
    for (char &c : b)
        c = char(rng.bounded(256));
    return b;
}

QByteArray compressibleText()
{
    QByteArray text;
    int line = 0;
    while (text.size() < 1024 * 1024)
        text += "2024-03-15T13:37:42.123Z INFO http request " + QByteArray::number(line++) +
                " completed in 12 ms with status 200\n";
    text.truncate(1024 * 1024);
    return text;
}

// A buffer that accepts @p capacity bytes, then fails every write.
class FailingBuffer : public QBuffer {
public:
    explicit FailingBuffer(qint64 capacity) : m_capacity(capacity) {}

protected:
    qint64 writeData(const char *data, qint64 len) override
    {
        if (size() + len > m_capacity) {
            setErrorString(QStringLiteral("device full"));
            return -1;
        }
        return QBuffer::writeData(data, len);
    }

private:
    qint64 m_capacity;
};

} // namespace

class TestZipWriter : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void crc32KnownValues()
    {
        QCOMPARE(ZipWriter::crc32(QByteArray("123456789")), quint32(0xCBF43926));
        QCOMPARE(ZipWriter::crc32(QByteArray()), quint32(0));
        QCOMPARE(ZipWriter::crc32(QByteArray("The quick brown fox jumps over the lazy dog")), quint32(0x414FA339));
        // Incremental equals whole.
        QCOMPARE(ZipWriter::crc32(QByteArray("56789"), ZipWriter::crc32(QByteArray("1234"))),
                 quint32(0xCBF43926));
    }

    void archiveReadsBackWithUnzip()
    {
        if (QStandardPaths::findExecutable(QStringLiteral("unzip")).isEmpty())
            QSKIP("the unzip tool is not installed (Debian package \"unzip\"); it checks the archives");
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("bundle.zip"));

        const QDateTime t1(QDate(2024, 3, 15), QTime(13, 37, 42), Qt::UTC);
        const QDateTime t2(QDate(2031, 12, 31), QTime(23, 59, 58), Qt::UTC);
        // Same instant as 2025-01-01 02:00:00 UTC, given in another zone.
        const QDateTime t3(QDate(2025, 1, 1), QTime(4, 0, 0), Qt::OffsetFromUTC, 2 * 3600);
        const QList<std::tuple<QString, QByteArray, QDateTime>> files{
            {L("empty.txt"), QByteArray(), t1},
            {L("binary.bin"), allByteValues() + randomBytes(4096, 7), t2},
            {L("big.log"), compressibleText(), t1},
            {L("naïve café 東京.txt"), QByteArray("unicode name\n"), t3},
            {L("logs/2024/app.json"), QByteArray("{\"ok\": true}\n"), t2},
        };
        {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            ZipWriter zip(&file);
            for (const auto &[name, data, time] : files)
                QVERIFY2(zip.addFile(name, data, time), qPrintable(zip.errorString()));
            QVERIFY2(zip.close(), qPrintable(zip.errorString()));
            QVERIFY(zip.errorString().isEmpty());
            QCOMPARE(zip.entryCount(), int(files.size()));
            QCOMPARE(qint64(zip.bytesWritten()), file.size());
        }

        const Run test = unzip({QStringLiteral("-t"), path});
        QVERIFY2(test.exitCode == 0, test.out.constData());
        QVERIFY(test.out.contains("No errors detected"));

        // Every file comes back byte for byte.
        for (const auto &[name, data, time] : files) {
            const Run p = unzip({QStringLiteral("-p"), path, name});
            QVERIFY2(p.exitCode == 0, qPrintable(name + QLatin1Char(' ') + QString::fromUtf8(p.err)));
            QVERIFY2(p.out == data, qPrintable(name));
        }

        // The listing shows each name with its UTC time to the second, and the CRC.
        const Run info = unzip({QStringLiteral("-Z"), QStringLiteral("-T"), path});
        QCOMPARE(info.exitCode, 0);
        const QString listing = QString::fromUtf8(info.out);
        for (const auto &[name, data, time] : files) {
            const QString stamp = time.toUTC().toString(QStringLiteral("yyyyMMdd.hhmmss"));
            QVERIFY2(listing.contains(stamp + QLatin1Char(' ') + name),
                     qPrintable(stamp + QLatin1Char(' ') + name + QStringLiteral(" not in\n") + listing));
        }
        const Run verbose = unzip({QStringLiteral("-v"), path});
        const QString v = QString::fromUtf8(verbose.out);
        for (const auto &[name, data, time] : files) {
            const QString crc = QStringLiteral("%1").arg(ZipWriter::crc32(data), 8, 16, QLatin1Char('0'));
            QVERIFY2(v.contains(crc + QStringLiteral("  ") + name), qPrintable(crc + QLatin1Char(' ') + name));
        }

        // The central directory: UTF-8 flag on every entry, DOS times in UTC, methods.
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const QList<CentralEntry> entries = readCentralDirectory(file.readAll());
        QCOMPARE(entries.size(), files.size());
        for (int i = 0; i < entries.size(); ++i) {
            const auto &[name, data, time] = files.at(i);
            const CentralEntry &e = entries.at(i);
            QCOMPARE(e.name, name);
            QVERIFY(e.flags & 0x0800);
            QCOMPARE(fromDos(e.dosTime, e.dosDate), time.toUTC());
            QCOMPARE(e.size, quint32(data.size()));
            QCOMPARE(e.crc, ZipWriter::crc32(data));
        }
        QCOMPARE(entries.at(0).method, quint16(0)); // empty: stored
        QCOMPARE(entries.at(2).method, quint16(8)); // text: deflated...
        QVERIFY(entries.at(2).compressedSize < 1024 * 1024 / 10); // ...a lot
    }

    void incompressibleDataIsStored()
    {
        QBuffer buffer;
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        ZipWriter zip(&buffer);
        const QByteArray noise = randomBytes(64 * 1024, 11);
        const QByteArray text(100000, 'a');
        QVERIFY(zip.addFile(L("noise.bin"), noise));
        QVERIFY(zip.addFile(L("text.txt"), text));
        QVERIFY(zip.addFile(L("forced.txt"), text, QDateTime::currentDateTimeUtc(), ZipWriter::Compression::Store));
        QVERIFY(zip.close());
        const QList<CentralEntry> entries = readCentralDirectory(buffer.data());
        QCOMPARE(entries.size(), 3);
        QCOMPARE(entries.at(0).method, quint16(0));
        QCOMPARE(entries.at(0).compressedSize, quint32(noise.size()));
        QCOMPARE(entries.at(1).method, quint16(8));
        QVERIFY(entries.at(1).compressedSize < 1000);
        QCOMPARE(entries.at(2).method, quint16(0));
        QCOMPARE(entries.at(2).compressedSize, quint32(text.size()));
    }

    void timesAreClampedToDosRange()
    {
        QBuffer buffer;
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        ZipWriter zip(&buffer);
        QVERIFY(zip.addFile(L("old"), "x", QDateTime(QDate(1970, 1, 2), QTime(0, 0), Qt::UTC)));
        QVERIFY(zip.addFile(L("odd"), "x", QDateTime(QDate(2024, 2, 29), QTime(10, 11, 13), Qt::UTC)));
        QVERIFY(zip.addFile(L("far"), "x", QDateTime(QDate(2200, 1, 1), QTime(0, 0), Qt::UTC)));
        QVERIFY(!zip.addFile(L("bad"), "x", QDateTime()));
        QVERIFY(zip.errorString().contains(L("\"bad\"")));
        QVERIFY(zip.errorString().contains(L("time")));
        QVERIFY(zip.close());
        const QList<CentralEntry> e = readCentralDirectory(buffer.data());
        QCOMPARE(e.size(), 3);
        QCOMPARE(fromDos(e.at(0).dosTime, e.at(0).dosDate), QDateTime(QDate(1980, 1, 1), QTime(0, 0), Qt::UTC));
        // DOS times have 2 s resolution: 13 s is written as 12 s.
        QCOMPARE(fromDos(e.at(1).dosTime, e.at(1).dosDate), QDateTime(QDate(2024, 2, 29), QTime(10, 11, 12), Qt::UTC));
        QCOMPARE(fromDos(e.at(2).dosTime, e.at(2).dosDate), QDateTime(QDate(2107, 12, 31), QTime(23, 59, 58), Qt::UTC));
    }

    void badNamesAreRejected_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("reason");
        QTest::newRow("empty") << QString() << L("empty");
        QTest::newRow("absolute") << L("/etc/passwd") << L("absolute");
        QTest::newRow("parent") << L("../escape.txt") << L("'..'");
        QTest::newRow("inner parent") << L("logs/../../x") << L("'..'");
        QTest::newRow("dot") << L("./x") << L("'.'");
        QTest::newRow("backslash") << L("logs\\app.log") << L("backslash");
        QTest::newRow("drive") << L("C:/x.txt") << L("drive letter");
        QTest::newRow("double slash") << L("logs//x") << L("empty component");
        QTest::newRow("folder") << L("logs/") << L("ends with '/'");
        QTest::newRow("control") << L("a\nb") << L("control character");
        QTest::newRow("duplicate") << L("taken.txt") << L("already in the archive");
        QTest::newRow("duplicate case") << L("TAKEN.TXT") << L("already in the archive");
        QTest::newRow("file is folder") << L("taken.txt/inner") << L("already a file");
        QTest::newRow("folder is file") << L("dir") << L("folder of that name");
    }

    void badNamesAreRejected()
    {
        QFETCH(QString, name);
        QFETCH(QString, reason);
        QBuffer buffer;
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        ZipWriter zip(&buffer);
        QVERIFY(zip.addFile(L("taken.txt"), "1"));
        QVERIFY(zip.addFile(L("dir/file.txt"), "2"));
        const qint64 before = buffer.size();
        QVERIFY(!zip.addFile(name, "bad"));
        QVERIFY2(zip.errorString().contains(QLatin1Char('"') + name + QLatin1Char('"')), qPrintable(zip.errorString()));
        QVERIFY2(zip.errorString().contains(reason), qPrintable(zip.errorString()));
        QCOMPARE(buffer.size(), before); // nothing written
        // The archive is still usable.
        QVERIFY2(zip.addFile(L("after.txt"), "3"), qPrintable(zip.errorString()));
        QVERIFY(zip.errorString().isEmpty());
        QVERIFY(zip.close());
        QCOMPARE(readCentralDirectory(buffer.data()).size(), 3);
    }

    void goodUnusualNamesAreAccepted()
    {
        QBuffer buffer;
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        ZipWriter zip(&buffer);
        for (const QString &name : {L(".hidden"), L("a..b"), L("..."), L("dir/sub/deep.txt"), L("dir/other.txt"),
                                    L("spaces in name.txt"), L("Ωmega/ünïcödé")})
            QVERIFY2(zip.addFile(name, "x"), qPrintable(zip.errorString()));
        QVERIFY(zip.close());
    }

    void sizeLimitRefusesAFileThatWouldCrossIt()
    {
        QBuffer buffer;
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        ZipWriter zip(&buffer);
        QCOMPARE(zip.sizeLimit(), quint64(0xFFFFFFFF));
        zip.setSizeLimit(quint64(1) << 40);
        QCOMPARE(zip.sizeLimit(), ZipWriter::kMaxSize); // never beyond what ZIP can address
        zip.setSizeLimit(3000);
        QVERIFY(zip.addFile(L("one.bin"), randomBytes(1000, 1)));
        const qint64 before = buffer.size();
        QVERIFY(!zip.addFile(L("two.bin"), randomBytes(2000, 2)));
        QVERIFY2(zip.errorString().contains(L("\"two.bin\"")), qPrintable(zip.errorString()));
        QVERIFY2(zip.errorString().contains(L("limit of 3000 bytes")), qPrintable(zip.errorString()));
        QCOMPARE(buffer.size(), before);
        QVERIFY(zip.addFile(L("small.bin"), randomBytes(100, 3)));
        QVERIFY(zip.close());
        QVERIFY(buffer.size() <= 3000);
        QCOMPARE(readCentralDirectory(buffer.data()).size(), 2);

        if (!QStandardPaths::findExecutable(QStringLiteral("unzip")).isEmpty()) {
            QTemporaryDir dir;
            QFile f(dir.filePath(QStringLiteral("limited.zip")));
            QVERIFY(f.open(QIODevice::WriteOnly));
            f.write(buffer.data());
            f.close();
            QCOMPARE(unzip({QStringLiteral("-t"), f.fileName()}).exitCode, 0);
        }
    }

    void readOnlyDeviceIsAnError()
    {
        QTemporaryDir dir;
        QFile file(dir.filePath(QStringLiteral("ro.zip")));
        QVERIFY(file.open(QIODevice::WriteOnly));
        file.close();
        QVERIFY(file.open(QIODevice::ReadOnly));
        ZipWriter zip(&file);
        QVERIFY(!zip.addFile(L("a.txt"), "data"));
        QVERIFY2(zip.errorString().contains(L("not open for writing")), qPrintable(zip.errorString()));
        QVERIFY(!zip.close());
        QCOMPARE(file.size(), qint64(0));

        QBuffer closed;
        ZipWriter onClosed(&closed);
        QVERIFY(!onClosed.addFile(L("a.txt"), "data"));
        ZipWriter onNull(nullptr);
        QVERIFY(!onNull.addFile(L("a.txt"), "data"));
        QVERIFY(!onNull.close());
        QVERIFY(!onNull.errorString().isEmpty());
    }

    void failingWritesAreReported_data()
    {
        QTest::addColumn<qint64>("capacity");
        QTest::newRow("first header") << qint64(10);
        QTest::newRow("inside data") << qint64(200);
        QTest::newRow("second file") << qint64(1500);
        QTest::newRow("central directory") << qint64(2100);
    }

    void failingWritesAreReported()
    {
        QFETCH(qint64, capacity);
        FailingBuffer buffer(capacity);
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        ZipWriter zip(&buffer);
        const QByteArray noise = randomBytes(1000, 5); // stored: predictable sizes
        const bool first = zip.addFile(L("first.bin"), noise);
        const bool second = first && zip.addFile(L("second.bin"), noise);
        const bool closed = second && zip.close();
        QVERIFY(!closed);
        QVERIFY2(zip.errorString().contains(L("Writing the archive failed")), qPrintable(zip.errorString()));
        QVERIFY2(zip.errorString().contains(L("device full")), qPrintable(zip.errorString()));
        // Sticky: later calls fail and keep the first error.
        const QString error = zip.errorString();
        QVERIFY(!zip.addFile(L("third.bin"), "x"));
        QVERIFY(!zip.close());
        QCOMPARE(zip.errorString(), error);
    }

    void closeTwiceAndAddAfterClose()
    {
        QBuffer buffer;
        QVERIFY(buffer.open(QIODevice::WriteOnly));
        ZipWriter zip(&buffer);
        QVERIFY(zip.close()); // an empty archive is valid: just the end record
        QCOMPARE(buffer.size(), qint64(22));
        QVERIFY(zip.close());
        QCOMPARE(buffer.size(), qint64(22));
        QVERIFY(!zip.addFile(L("late.txt"), "x"));
        QVERIFY(zip.errorString().contains(L("already closed")));
        QVERIFY(zip.isClosed());
    }
};

QTEST_GUILESS_MAIN(TestZipWriter)
#include "tst_zipwriter.moc"
