#pragma once

#include "httpclient.h"
#include "snapshotpage.h"

#include <QKeySequence>

#include <functional>

QT_BEGIN_NAMESPACE
class QAction;
class QComboBox;
class QLabel;
class QLineEdit;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class BreakerTileGrid;
class BreakerTransitionModel;

/**
 * The circuit breakers, Hystrix style: one tile per breaker (colour = error rate, size =
 * volume, a two-minute sparkline, state, latency), sortable and filterable without tiles
 * jumping under the cursor (see BreakerTileGrid), the recent transitions, and the operator
 * actions on the selected breaker (force open, force closed, reset; buttons, the tiles' context
 * menu and keys), each confirmed first.
 */
class BreakersPage : public SnapshotPage {
    Q_OBJECT
public:
    /// Asks the operator to confirm; true to go ahead. Replaceable so tests need no modal dialog.
    using ConfirmFunction = std::function<bool(QWidget *parent, const QString &title, const QString &text)>;

    explicit BreakersPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~BreakersPage() override;

    BreakerTileGrid *grid() const { return m_grid; }
    BreakerTransitionModel *transitionModel() const { return m_transitions; }
    QAction *forceOpenAction() const { return m_forceOpen; }
    QAction *forceClosedAction() const { return m_forceClosed; }
    QAction *resetAction() const { return m_reset; }
    QComboBox *sortCombo() const { return m_sortCombo; }
    QLineEdit *filterEdit() const { return m_filterEdit; }

    void setConfirmFunction(ConfirmFunction confirm);
    /// Where force open / force closed / reset go: by default this page's source; the window
    /// sends them to every connected source when the operator asks for that.
    void setCommandTargets(std::function<QList<vega::SnapshotSource *>()> targets);

    /// The actions' keys, active while the focus is on the page: Ctrl+Shift+O force open,
    /// Ctrl+Shift+L force closed (let every call through), Ctrl+Shift+B reset the breaker. The
    /// window's own keys (Ctrl+Shift+R reset stats, Ctrl+Shift+C connect, ...) are left alone.
    static QKeySequence forceOpenShortcut();
    static QKeySequence forceClosedShortcut();
    static QKeySequence resetShortcut();

public Q_SLOTS:
    /// Asks for confirmation, then sends `command` to the selected breaker.
    void commandSelected(vega::BreakerCommand command);

Q_SIGNALS:
    /// An operator command reached a breaker; `description` says which and what.
    void breakerCommanded(const QString &description);
    void breakerCommandFailed(const QString &error);

protected:
    void applySnapshot(const Snapshot &snapshot) override;

private:
    void onSelectionChanged(const QString &name);
    void onSortChosen(int index);
    void updateFrozenHint(bool frozen);

    SnapshotSource *m_engine;
    ConfirmFunction m_confirm;
    std::function<QList<vega::SnapshotSource *>()> m_targets;
    BreakerTileGrid *m_grid = nullptr;
    BreakerTransitionModel *m_transitions = nullptr;
    QTreeView *m_transitionView = nullptr;
    QComboBox *m_sortCombo = nullptr;
    QLineEdit *m_filterEdit = nullptr;
    QLabel *m_frozenHint = nullptr;
    QLabel *m_selectedLabel = nullptr;
    QLabel *m_updated = nullptr;
    QLabel *m_empty = nullptr;
    QAction *m_forceOpen = nullptr;
    QAction *m_forceClosed = nullptr;
    QAction *m_reset = nullptr;
};

} // namespace vega::ui
