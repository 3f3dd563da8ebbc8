// The Config page against a real engine loaded from a real file: the effective
// configuration, and a validation run started from the page's button.
#include "configpage.h"
#include "configvalidator.h"
#include "engine.h"
#include "findingsmodel.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QFontDatabase>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QTemporaryDir>
#include <QTreeView>
#include <QtTest>

using namespace vega;
using namespace vega::ui;

namespace {
constexpr int kTimeoutMs = 15000;
const QString kHost = QStringLiteral("vega-ui-tst.invalid");
const QString kLiteralSecret = QStringLiteral("hunter2-literal-secret");

/// The file an operator would write: an integration whose token references an unset
/// variable on a host that cannot exist, and one with a token written literally.
QByteArray configText()
{
    const QJsonObject health{{QStringLiteral("interval_s"), 3600}};
    const QJsonObject root{
        {QStringLiteral("metrics"), QJsonObject{{QStringLiteral("snapshot_interval_ms"), 200}}},
        {QStringLiteral("storage"), QJsonObject{{QStringLiteral("enabled"), false}}},
        {QStringLiteral("integrations"),
         QJsonObject{
             {QStringLiteral("broken"),
              QJsonObject{{QStringLiteral("kind"), QStringLiteral("external_api")},
                          {QStringLiteral("url"), QStringLiteral("https://%1/status").arg(kHost)},
                          {QStringLiteral("auth"),
                           QJsonObject{{QStringLiteral("token"), QStringLiteral("${VEGA_TST_MISSING}")}}},
                          {QStringLiteral("health"), health}}},
             {QStringLiteral("literal"),
              QJsonObject{{QStringLiteral("kind"), QStringLiteral("external_api")},
                          {QStringLiteral("url"), QStringLiteral("http://127.0.0.1:9/status")},
                          {QStringLiteral("auth"), QJsonObject{{QStringLiteral("token"), kLiteralSecret}}},
                          {QStringLiteral("health"), health}}},
         }},
    };
    return QJsonDocument(root).toJson();
}

/// The rows of the findings (in the view's order) as "severity|path|value|message".
QStringList rows(const QSortFilterProxyModel *proxy)
{
    QStringList out;
    for (int r = 0; r < proxy->rowCount(); ++r) {
        QStringList cells;
        for (int c : {FindingsModel::SeverityColumn, FindingsModel::PathColumn, FindingsModel::ValueColumn,
                      FindingsModel::MessageColumn})
            cells.append(proxy->index(r, c).data().toString());
        out.append(cells.join(QLatin1Char('|')));
    }
    return out;
}
} // namespace

class TestUiConfig : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { qunsetenv("VEGA_TST_MISSING"); }

    void runValidationFromThePage()
    {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString path = dir.filePath(QStringLiteral("vega.json"));
        {
            QFile file(path);
            QVERIFY(file.open(QIODevice::WriteOnly));
            file.write(configText());
        }
        QFile file(path);
        QVERIFY(file.open(QIODevice::ReadOnly));
        const ConfigLoadResult loaded = ConfigLoader::loadText(file.readAll(), path);
        QVERIFY2(loaded.ok(), qPrintable(loaded.findings.value(0).toString()));
        EngineOptions options;
        options.configPath = path;
        Engine engine(loaded.config, options);
        engine.start();

        ConfigPage page(&engine);
        QAbstractItemModelTester modelTester(page.findingsModel(),
                                             QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester proxyTester(page.findingsProxy(),
                                             QAbstractItemModelTester::FailureReportingMode::QtTest);
        connect(&engine, &Engine::snapshotAvailable, &page, &ConfigPage::setSnapshot);
        page.resize(1200, 800);
        page.show();
        QVERIFY(QTest::qWaitForWindowExposed(&page));

        // The configuration in force, with its source; the secret stays out.
        QCOMPARE(page.sourceText(), QStringLiteral("File: ") + path);
        const QString shown = page.configView()->toPlainText();
        QVERIFY(page.configView()->isReadOnly());
        QVERIFY(shown.contains(kHost));
        QVERIFY(shown.contains(QStringLiteral("${VEGA_TST_MISSING}")));
        QVERIFY(shown.contains(QStringLiteral("\"snapshot_interval_ms\": 200")));
        QVERIFY(!shown.contains(kLiteralSecret));
        QCOMPARE(page.configView()->font().family(),
                 QFontDatabase::systemFont(QFontDatabase::FixedFont).family());

        // Before any run.
        QVERIFY(page.summaryText().startsWith(QStringLiteral("Not validated yet")));
        QCOMPARE(page.findingsModel()->rowCount(), 0);
        QPushButton *button = page.runValidationButton();
        QVERIFY(button->isEnabled());
        QCOMPARE(button->text(), QStringLiteral("Run validation"));

        // Run: the button is disabled while the engine validates.
        QSignalSpy started(&page, &ConfigPage::validationStarted);
        QSignalSpy finished(&engine, &Engine::validationFinished);
        QTest::mouseClick(button, Qt::LeftButton);
        QCOMPARE(started.count(), 1);
        QVERIFY(engine.isValidating());
        QVERIFY(!button->isEnabled());
        QCOMPARE(button->text(), QStringLiteral("Validating…"));
        // A second click while running changes nothing.
        page.runValidation();
        QCOMPARE(started.count(), 1);

        QTRY_VERIFY_WITH_TIMEOUT(button->isEnabled(), kTimeoutMs);
        QCOMPARE(finished.count(), 1);
        QCOMPARE(button->text(), QStringLiteral("Run validation"));

        // The findings: a warning naming the unset variable, and the host that cannot resolve.
        const QSortFilterProxyModel *proxy = page.findingsProxy();
        QVERIFY(proxy->rowCount() >= 2);
        const QStringList shownRows = rows(proxy);
        const QString dump = shownRows.join(QLatin1Char('\n'));
        bool missingVariable = false;
        bool host = false;
        for (const QString &row : shownRows) {
            if (row.startsWith(QStringLiteral("warning|")) &&
                row.contains(QStringLiteral("VEGA_TST_MISSING")) &&
                row.contains(QStringLiteral("is not set")))
                missingVariable = true;
            if (row.contains(QStringLiteral("|$.integrations.broken.url|")) && row.contains(kHost)) {
                host = true;
                // No such host is an error; only a lookup that ran out of time is a warning.
                if (!row.contains(QStringLiteral("timed out")))
                    QVERIFY2(row.startsWith(QStringLiteral("error|")), qPrintable(row));
            }
            QVERIFY2(!row.contains(kLiteralSecret), qPrintable(row));
        }
        QVERIFY2(missingVariable, qPrintable(dump));
        QVERIFY2(host, qPrintable(dump));

        // Errors first (sorted by severity), and the counts line agrees with the report.
        for (int r = 1; r < proxy->rowCount(); ++r)
            QVERIFY(proxy->index(r - 1, FindingsModel::SeverityColumn).data(FindingsSortRole).toInt() >=
                    proxy->index(r, FindingsModel::SeverityColumn).data(FindingsSortRole).toInt());
        const auto report = engine.lastValidation();
        QVERIFY(report);
        QCOMPARE(page.findingsModel()->rowCount(), int(report->findings.size()));
        const int errors = report->errorCount();
        const int warnings = report->warningCount();
        QVERIFY(warnings >= 1);
        const QString counts =
            (errors == 1 ? QStringLiteral("1 error") : QStringLiteral("%1 errors").arg(errors)) +
            QStringLiteral(", ") +
            (warnings == 1 ? QStringLiteral("1 warning") : QStringLiteral("%1 warnings").arg(warnings));
        QVERIFY2(page.summaryText().startsWith(counts), qPrintable(page.summaryText()));
        QVERIFY(page.summaryText().contains(QStringLiteral("run at ")));
        QVERIFY(page.summaryText().contains(QStringLiteral("took ")));
        // The position column points into the file.
        bool positioned = false;
        for (int r = 0; r < proxy->rowCount(); ++r)
            positioned |= proxy->index(r, FindingsModel::PositionColumn)
                              .data()
                              .toString()
                              .contains(QRegularExpression(QStringLiteral("^\\d+:\\d+$")));
        QVERIFY(positioned);

        // Sorting the other way puts the least severe first.
        page.findingsView()->sortByColumn(FindingsModel::SeverityColumn, Qt::AscendingOrder);
        QVERIFY(proxy->index(0, FindingsModel::SeverityColumn).data(FindingsSortRole).toInt() <=
                proxy->index(proxy->rowCount() - 1, FindingsModel::SeverityColumn)
                    .data(FindingsSortRole)
                    .toInt());
    }

    void hiddenPageShowsTheOutcomeWhenItArrives()
    {
        EngineConfig config;
        config.storage.enabled = false;
        Engine engine(config, EngineOptions{});
        ConfigPage page(&engine); // never shown
        QVERIFY(page.summaryText().startsWith(QStringLiteral("Not validated yet")));
        QVERIFY(page.sourceText().startsWith(QStringLiteral("Built-in defaults")));
        QSignalSpy finished(&engine, &Engine::validationFinished);
        engine.validateConfig(QStringLiteral("operator"));
        QVERIFY(finished.wait(kTimeoutMs));
        QVERIFY(page.runValidationButton()->isEnabled());
        QVERIFY2(!page.summaryText().startsWith(QStringLiteral("Not validated yet")),
                 qPrintable(page.summaryText()));
        QVERIFY(page.summaryText().contains(QStringLiteral("run at ")));
    }

    void findingsModelColumns()
    {
        FindingsModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        ConfigFinding warning;
        warning.severity = Severity::Warning;
        warning.file = QStringLiteral("/etc/vega.json");
        warning.path = QStringLiteral("$.integrations.x.auth.token");
        warning.line = 12;
        warning.column = 7;
        warning.value = QStringLiteral("${X}");
        warning.message = QStringLiteral("environment variable X is not set");
        ConfigFinding error;
        error.severity = Severity::Error;
        error.path = QStringLiteral("$.integrations.x.url");
        error.message = QStringLiteral("host name h.invalid does not resolve (no such host)");
        ConfigFinding info;
        info.severity = Severity::Info;
        model.setFindings({warning, error, info});
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.errorCount(), 1);
        QCOMPARE(model.warningCount(), 1);
        QCOMPARE(model.index(0, FindingsModel::SeverityColumn).data().toString(), QStringLiteral("warning"));
        QCOMPARE(model.index(0, FindingsModel::PositionColumn).data().toString(), QStringLiteral("12:7"));
        QCOMPARE(model.index(0, FindingsModel::PositionColumn).data(Qt::ToolTipRole).toString(),
                 QStringLiteral("/etc/vega.json"));
        QCOMPARE(model.index(1, FindingsModel::PositionColumn).data().toString(), QStringLiteral("—"));
        QCOMPARE(model.index(2, FindingsModel::PathColumn).data().toString(), QStringLiteral("—"));
        QVERIFY(model.index(1, FindingsModel::SeverityColumn).data(Qt::ForegroundRole).value<QColor>() !=
                model.index(0, FindingsModel::SeverityColumn).data(Qt::ForegroundRole).value<QColor>());
        QCOMPARE(model.index(1, FindingsModel::SeverityColumn).data(FindingsSortRole).toInt(), 2);
        QCOMPARE(model.index(0, FindingsModel::SeverityColumn).data(FindingsSortRole).toInt(), 1);
        QCOMPARE(model.index(2, FindingsModel::SeverityColumn).data(FindingsSortRole).toInt(), 0);
        model.setFindings({});
        QCOMPARE(model.rowCount(), 0);
    }
};

QTEST_MAIN(TestUiConfig)
#include "tst_ui_config.moc"
