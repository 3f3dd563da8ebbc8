// The export dialog against a real engine: every format is written, Cancel stops a running
// export without leaving a file, sections can be left out, bad paths are shown inline.
#include "engine.h"
#include "exportdialog.h"
#include "reportpdf.h"

#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QProcess>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QThread>
#include <QtTest>

#include <atomic>
#include <memory>

using namespace vega;
using namespace vega::ui;

namespace {

constexpr int kTimeoutMs = 30000; // generous: ASan on a loaded two-core machine
const QByteArray kSecret = "PlantedUiSecret-0a1b2c3d";

QByteArray readAll(const QString &path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

QStringList zipNames(const QString &path)
{
    QProcess unzip;
    unzip.start(QStringLiteral("unzip"), {QStringLiteral("-Z1"), path});
    if (!unzip.waitForFinished(60000) || unzip.exitCode() != 0)
        return {};
    return QString::fromUtf8(unzip.readAllStandardOutput()).split(QLatin1Char('\n'), Qt::SkipEmptyParts);
}

} // namespace

class TestUiExport : public QObject {
    Q_OBJECT
private:
    QTemporaryDir m_dir;
    std::unique_ptr<Engine> m_engine;

    SnapshotPtr plantedSnapshot() const
    {
        auto snap = std::make_shared<Snapshot>(*m_engine->latest());
        QJsonObject cfg = snap->info.effectiveConfig;
        cfg.insert(QStringLiteral("api_token"), QString::fromLatin1(kSecret));
        snap->info.effectiveConfig = cfg;
        return snap;
    }

    std::unique_ptr<ExportDialog> dialog(PdfRenderer pdf = reportPdfRenderer())
    {
        auto d = std::make_unique<ExportDialog>([this] { return plantedSnapshot(); }, m_engine->history(),
                                                std::move(pdf));
        d->setSaveFileFunction(
            [](QWidget *, const QString &, const QString &, const QString &) { return QString(); });
        d->show();
        return d;
    }

    QString path(const QString &name) const { return QDir(m_dir.path()).filePath(name); }

    static bool exportAndWait(ExportDialog &d, bool *ok, QString *text)
    {
        QSignalSpy spy(&d, &ExportDialog::exportFinished);
        d.exportButton()->click();
        if (!d.isExporting())
            return false;
        if (!spy.wait(kTimeoutMs) && spy.isEmpty())
            return false;
        *ok = spy.first().at(0).toBool();
        *text = spy.first().at(1).toString();
        return true;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        EngineConfig config;
        config.metrics.snapshotIntervalMs = 100;
        config.diagnostics.intervalMs = 200;
        config.storage.flushIntervalMs = 100;
        EngineOptions options;
        options.dataDir = path(QStringLiteral("data"));
        QVERIFY(QDir().mkpath(options.dataDir));
        m_engine = std::make_unique<Engine>(config, options);
        m_engine->start();
        QTRY_VERIFY_WITH_TIMEOUT(m_engine->history()->status().health == Health::Ok, kTimeoutMs);
        QTest::qWait(1500); // a few seconds of series
        m_engine->publishNow();
    }

    void cleanupTestCase() { m_engine.reset(); }

    void exportsEveryFormat_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<int>("format");
        QTest::addColumn<QByteArray>("start");
        QTest::newRow("json") << "r.json" << int(ReportFormat::Json) << QByteArray("{");
        QTest::newRow("html") << "r.html" << int(ReportFormat::Html) << QByteArray("<!DOCTYPE html>");
        QTest::newRow("zip") << "r.zip" << int(ReportFormat::Zip) << QByteArray("PK\x03\x04");
        QTest::newRow("pdf") << "r.pdf" << int(ReportFormat::Pdf) << QByteArray("%PDF-");
    }

    void exportsEveryFormat()
    {
        QFETCH(QString, name);
        QFETCH(int, format);
        QFETCH(QByteArray, start);
        QString printed;
        auto d = dialog([&printed](const ReportDocument &doc, QIODevice *out, QString *error) {
            printed = doc.html; // read after finished(): the worker has been joined
            return writeReportPdf(doc, out, error);
        });
        d->setPath(path(name));
        QCOMPARE(int(d->format()), format);
        QSignalSpy progress(d.get(), &ExportDialog::exportFinished);
        bool ok = false;
        QString text;
        QVERIFY(exportAndWait(*d, &ok, &text));
        QVERIFY2(ok, qPrintable(text));
        QCOMPARE(text, path(name));
        QCOMPARE(d->result(), int(QDialog::Accepted));
        QVERIFY(!d->isVisible());
        QCOMPARE(d->progressBar()->value(), 100);
        const QByteArray bytes = readAll(path(name));
        QVERIFY2(bytes.startsWith(start), bytes.left(20).constData());
        QVERIFY(!bytes.contains(kSecret));
        if (format == int(ReportFormat::Pdf)) {
            QVERIFY(bytes.trimmed().endsWith("%%EOF"));
            QVERIFY2(bytes.size() > 20000,
                     qPrintable(QString::number(bytes.size()))); // text and six chart images
            QVERIFY(printed.contains(QStringLiteral("src=\"chart:event_loop_lag_p99\"")));
            QVERIFY(!printed.toUtf8().contains(kSecret));
            QVERIFY(printed.contains(QStringLiteral("[redacted]")));
        }
    }

    void formatFollowsPathAndCombo()
    {
        auto d = dialog();
        d->setPath(path(QStringLiteral("choice.json")));
        QCOMPARE(d->format(), ReportFormat::Json);
        d->setFormat(ReportFormat::Zip);
        QCOMPARE(d->path(), path(QStringLiteral("choice.zip")));
        d->pathEdit()->setText(path(QStringLiteral("typed.pdf")));
        QTest::keyClick(d->pathEdit(), Qt::Key_End); // a real edit triggers textEdited
        QTest::keyClicks(d->pathEdit(), QStringLiteral(" "));
        QTest::keyClick(d->pathEdit(), Qt::Key_Backspace);
        QCOMPARE(d->format(), ReportFormat::Pdf);

        QString filter;
        d->setSaveFileFunction([&](QWidget *, const QString &, const QString &, const QString &f) {
            filter = f;
            return path(QStringLiteral("browsed.html"));
        });
        d->browseButton()->click();
        QVERIFY(filter.contains(QStringLiteral("*.pdf")));
        QCOMPARE(d->path(), path(QStringLiteral("browsed.html")));
        QCOMPARE(d->format(), ReportFormat::Html);
    }

    void cancelMidWayLeavesNoFile()
    {
        auto entered = std::make_shared<std::atomic_bool>(false);
        auto release = std::make_shared<std::atomic_bool>(false);
        auto d = dialog([entered, release](const ReportDocument &doc, QIODevice *out, QString *error) {
            *entered = true;
            const bool ok = writeReportPdf(doc, out, error); // a whole PDF, then held back
            QElapsedTimer t;
            t.start();
            while (!*release && t.elapsed() < kTimeoutMs)
                QThread::msleep(5);
            return ok;
        });
        d->setPath(path(QStringLiteral("cancelled.pdf")));
        QSignalSpy spy(d.get(), &ExportDialog::exportFinished);
        d->exportButton()->click();
        QVERIFY(d->isExporting());
        QVERIFY(!d->exportButton()->isEnabled());
        QTRY_VERIFY_WITH_TIMEOUT(*entered, kTimeoutMs);
        d->cancelButton()->click();
        QVERIFY(d->isVisible()); // cancelling an export does not close the dialog
        *release = true;
        QVERIFY(spy.wait(kTimeoutMs));
        QCOMPARE(spy.first().at(0).toBool(), false);
        QCOMPARE(spy.first().at(1).toString(), QStringLiteral("cancelled"));
        QVERIFY(!QFile::exists(path(QStringLiteral("cancelled.pdf"))));
        QVERIFY(QDir(m_dir.path()).entryList({QStringLiteral("cancelled.pdf*")}, QDir::Files).isEmpty());
        QVERIFY(d->statusText().contains(QStringLiteral("cancelled")));
        QVERIFY(d->errorText().isEmpty());
        QVERIFY(d->exportButton()->isEnabled());
        // Idle now: Cancel closes.
        d->cancelButton()->click();
        QVERIFY(!d->isVisible());
        QCOMPARE(d->result(), int(QDialog::Rejected));
    }

    void uncheckedSectionIsLeftOut()
    {
        auto d = dialog();
        d->setPath(path(QStringLiteral("partial.zip")));
        QVERIFY(d->sectionCheckBox(ReportSection::Config)->isChecked());
        d->sectionCheckBox(ReportSection::Config)->click();
        d->sectionCheckBox(ReportSection::History)->click();
        QVERIFY(!d->sections().testFlag(ReportSection::Config));
        bool ok = false;
        QString text;
        QVERIFY(exportAndWait(*d, &ok, &text));
        QVERIFY2(ok, qPrintable(text));
        const QStringList names = zipNames(path(QStringLiteral("partial.zip")));
        QVERIFY(names.contains(QStringLiteral("manifest.json")));
        QVERIFY(names.contains(QStringLiteral("sql.json")));
        QVERIFY(!names.contains(QStringLiteral("config.json")));
        for (const QString &n : names)
            QVERIFY2(!n.startsWith(QLatin1String("history/")), qPrintable(n));

        auto h = dialog();
        h->setPath(path(QStringLiteral("partial.html")));
        h->sectionCheckBox(ReportSection::History)->click();
        QVERIFY(exportAndWait(*h, &ok, &text));
        QVERIFY(ok);
        const QByteArray html = readAll(path(QStringLiteral("partial.html")));
        QVERIFY(!html.contains("<svg"));
        QVERIFY(html.contains("<section id=\"health\">"));

        // No section at all is refused inline.
        auto none = dialog();
        none->setPath(path(QStringLiteral("none.html")));
        none->setSections({});
        none->exportButton()->click();
        QVERIFY(!none->isExporting());
        QVERIFY(none->errorText().contains(QStringLiteral("section")));
    }

    void badPathsShowAnErrorInline_data()
    {
        QTest::addColumn<QString>("target");
        QTest::addColumn<QString>("reason");
        QTest::newRow("missing directory") << "/nonexistent/dir/r.html"
                                           << "does not exist";
        QTest::newRow("a directory") << "DIR/folder.zip"
                                     << "is a directory";
        QTest::newRow("unsupported") << "DIR/r.docx"
                                     << "unsupported format";
    }

    void badPathsShowAnErrorInline()
    {
        QFETCH(QString, target);
        QFETCH(QString, reason);
        target.replace(QStringLiteral("DIR"), m_dir.path());
        QVERIFY(QDir(m_dir.path()).mkpath(QStringLiteral("folder.zip")));
        auto d = dialog();
        d->setPath(target);
        d->exportButton()->click();
        QVERIFY(!d->isExporting());
        QVERIFY(d->isVisible());
        QVERIFY2(d->errorText().contains(reason) && d->errorText().contains(target),
                 qPrintable(d->errorText()));
        QVERIFY(d->findChild<QLabel *>(QStringLiteral("exportError"))->isVisible());
    }

    void failureDuringExportIsShownInline()
    {
        // The renderer fails after the path checks passed: the builder's error is shown.
        auto d = dialog([](const ReportDocument &, QIODevice *, QString *error) {
            *error = QStringLiteral("printer on fire");
            return false;
        });
        d->setPath(path(QStringLiteral("failing.pdf")));
        bool ok = true;
        QString text;
        QVERIFY(exportAndWait(*d, &ok, &text));
        QVERIFY(!ok);
        QVERIFY(d->isVisible());
        QVERIFY2(d->errorText().contains(QStringLiteral("printer on fire")), qPrintable(d->errorText()));
        QVERIFY(!QFile::exists(path(QStringLiteral("failing.pdf"))));
    }

    void pdfIsOfferedOnlyWithARenderer()
    {
        auto d = dialog(PdfRenderer());
        auto *model = qobject_cast<QStandardItemModel *>(d->formatCombo()->model());
        QVERIFY(model);
        QVERIFY(!model->item(d->formatCombo()->findData(int(ReportFormat::Pdf)))->isEnabled());
        d->setPath(path(QStringLiteral("nopdf.pdf")));
        d->exportButton()->click();
        QVERIFY(!d->isExporting());
        QVERIFY2(d->errorText().contains(QStringLiteral("PDF")), qPrintable(d->errorText()));
    }

    void closingWhileExportingWaitsForTheWorker()
    {
        // Destroying the dialog mid-export cancels and joins the worker: no crash, no file.
        auto entered = std::make_shared<std::atomic_bool>(false);
        auto d = dialog([entered](const ReportDocument &doc, QIODevice *out, QString *error) {
            *entered = true;
            return writeReportPdf(doc, out, error);
        });
        d->setPath(path(QStringLiteral("destroyed.pdf")));
        d->exportButton()->click();
        QTRY_VERIFY_WITH_TIMEOUT(*entered, kTimeoutMs);
        d.reset();
        QVERIFY(!QFile::exists(path(QStringLiteral("destroyed.pdf"))));
    }
};

QTEST_MAIN(TestUiExport)
#include "tst_ui_export.moc"
