#include "snapshotpage.h"

#include "snapshotsource.h"
#include "timechart.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QLoggingCategory>
#include <QSettings>
#include <QSplitter>

#include <algorithm>

namespace vega::ui {

namespace {
Q_LOGGING_CATEGORY(lcPage, "vega.ui.page")
constexpr int kSaveSplittersDelayMs = 500;
} // namespace

SnapshotPage::SnapshotPage(QWidget *parent) : QWidget(parent)
{
    m_due.setSingleShot(true);
    connect(&m_due, &QTimer::timeout, this, [this] {
        if (m_pending && isOnScreen())
            applyPending();
    });
    m_saveSplitters.setSingleShot(true);
    m_saveSplitters.setInterval(kSaveSplittersDelayMs);
    connect(&m_saveSplitters, &QTimer::timeout, this, &SnapshotPage::saveMovedSplitters);
}

void SnapshotPage::setRefreshIntervalMs(int ms)
{
    m_refreshMs = std::max(0, ms);
}

SnapshotPage::~SnapshotPage()
{
    // The splitters are children, still alive here (QWidget deletes them after this body).
    saveMovedSplitters();
}

QString SnapshotPage::splitterSettingsKey(const QString &pageKey, const QString &splitterName)
{
    return QStringLiteral("layout/%1/%2").arg(pageKey, splitterName);
}

void SnapshotPage::keepSplitterSizes(const QString &pageKey, std::initializer_list<QSplitter *> splitters)
{
    const QSettings settings;
    for (QSplitter *splitter : splitters) {
        if (!splitter)
            continue;
        if (splitter->objectName().isEmpty()) {
            qCWarning(lcPage) << "page" << pageKey << ": a splitter without an object name keeps no layout";
            continue;
        }
        const QString key = splitterSettingsKey(pageKey, splitter->objectName());
        const QByteArray state = settings.value(key).toByteArray();
        // Something that is not a splitter's state is refused and the defaults stay.
        if (!state.isEmpty() && !splitter->restoreState(state))
            qCWarning(lcPage) << "ignoring the saved layout" << key << ": it does not fit the page";
        connect(splitter, &QSplitter::splitterMoved, this, [this, splitter, key] {
            m_movedSplitters.insert(key, splitter);
            if (!m_saveSplitters.isActive())
                m_saveSplitters.start();
        });
    }
}

void SnapshotPage::saveMovedSplitters()
{
    m_saveSplitters.stop();
    if (m_movedSplitters.isEmpty())
        return;
    QSettings settings;
    for (auto it = m_movedSplitters.cbegin(); it != m_movedSplitters.cend(); ++it)
        if (it.value())
            settings.setValue(it.key(), it.value()->saveState());
    m_movedSplitters.clear();
}

void SnapshotPage::setSnapshot(const SnapshotPtr &snapshot)
{
    if (!snapshot)
        return;
    m_latest = snapshot;
    m_pending = true;
    if (!isOnScreen())
        return;
    const qint64 since = m_sinceApply.isValid() ? m_sinceApply.elapsed() : qint64(m_refreshMs);
    // Tolerate a little jitter: a snapshot due "now" by the engine's clock is not deferred.
    if (since + 50 >= m_refreshMs)
        applyPending();
    else if (!m_due.isActive())
        m_due.start(int(m_refreshMs - since));
}

void SnapshotPage::showEvent(QShowEvent *event)
{
    QWidget::showEvent(event);
    if (m_pending)
        applyPending();
}

bool SnapshotPage::isOnScreen() const
{
    return isVisible() && !window()->isMinimized();
}

void SnapshotPage::applyPending()
{
    m_pending = false;
    m_due.stop();
    m_sinceApply.start();
    ++m_appliedCount;
    applySnapshot(*m_latest);
}

void SnapshotPage::setUpCharts(const SnapshotSource *engine, std::initializer_list<TimeChart *> charts)
{
    if (!engine)
        return;
    const UiConfig &ui = engine->config().ui;
    for (TimeChart *chart : charts) {
        chart->setWindowSeconds(ui.defaultWindowSeconds);
        chart->setMinimumUpdateIntervalMs(std::max(500, ui.refreshIntervalMs / 2));
    }
}

QWidget *SnapshotPage::createHeader(const QString &title, QLabel *updated)
{
    auto *label = new QLabel(title, this);
    QFont font = label->font();
    font.setBold(true);
    font.setPointSizeF(font.pointSizeF() * 1.3);
    label->setFont(font);
    updated->setObjectName(QStringLiteral("updatedLabel"));
    auto *row = new QWidget(this);
    auto *layout = new QHBoxLayout(row);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(label);
    layout->addStretch(1);
    layout->addWidget(updated);
    return row;
}

} // namespace vega::ui
