#pragma once

#include "snapshot.h"

#include <QElapsedTimer>
#include <QHash>
#include <QPointer>
#include <QTimer>
#include <QWidget>

#include <initializer_list>

QT_BEGIN_NAMESPACE
class QLabel;
class QSplitter;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class TimeChart;

/**
 * Base of the console's pages. Every snapshot is kept, but a page only redraws while it is
 * on screen; a hidden page applies the newest snapshot when it is shown again.
 */
class SnapshotPage : public QWidget {
    Q_OBJECT
public:
    explicit SnapshotPage(QWidget *parent = nullptr);
    ~SnapshotPage() override;

    /// The newest snapshot received (may be newer than what is drawn).
    SnapshotPtr snapshot() const { return m_latest; }
    /// How many snapshots were drawn; hidden pages do not draw.
    int appliedCount() const { return m_appliedCount; }
    /// The page redraws at most once per `ms` (the console's refresh interval; 0: at every
    /// snapshot). Snapshots arriving in between are kept; the newest is drawn when due.
    void setRefreshIntervalMs(int ms);
    int refreshIntervalMs() const { return m_refreshMs; }

    /// Pages fill the window's page area and do not ask for a height that depends on their
    /// width: otherwise every label changing on the shown page makes the window's page stack
    /// measure every page, hidden ones included, wrapping all their labels' text again. Inside
    /// a page, the layout still gives wrapped labels the height their width needs.
    bool hasHeightForWidth() const override { return false; }
    int heightForWidth(int) const override { return -1; }

    /// Where a page's splitter keeps its sizes in QSettings: "layout/<pageKey>/<splitterName>".
    static QString splitterSettingsKey(const QString &pageKey, const QString &splitterName);

public Q_SLOTS:
    void setSnapshot(const vega::SnapshotPtr &snapshot);

protected:
    /// The page's title row: a bold title on the left, `updated` (the "Updated hh:mm:ss"
    /// label, named "updatedLabel") on the right. Every page uses it so they look alike.
    QWidget *createHeader(const QString &title, QLabel *updated);
    /// Opens `charts` with the configured window and refresh pacing (ui.default_window_seconds,
    /// ui.refresh_interval_ms). Does nothing without an engine.
    static void setUpCharts(const SnapshotSource *engine, std::initializer_list<TimeChart *> charts);
    /// Keeps the sizes of `splitters` across runs (the page layout): restores what was saved
    /// under splitterSettingsKey(pageKey, objectName) now, and saves a splitter's state after
    /// the operator moves one of its handles (at most every 500 ms, and when the page closes).
    /// Each splitter needs a unique object name on the page; one without is not kept.
    void keepSplitterSizes(const QString &pageKey, std::initializer_list<QSplitter *> splitters);
    /// Draws `snapshot`; only called while the page is on screen.
    virtual void applySnapshot(const Snapshot &snapshot) = 0;
    void showEvent(QShowEvent *event) override;

private:
    bool isOnScreen() const;
    void applyPending();
    void saveMovedSplitters();

    SnapshotPtr m_latest;
    bool m_pending = false;
    int m_appliedCount = 0;
    int m_refreshMs = 0;
    QElapsedTimer m_sinceApply;
    QTimer m_due;
    QHash<QString, QPointer<QSplitter>> m_movedSplitters; // settings key -> splitter moved since the last save
    QTimer m_saveSplitters;
};

} // namespace vega::ui
