#pragma once

#include "historystore.h"
#include "snapshotpage.h"

#include <QList>
#include <QTimer>

QT_BEGIN_NAMESPACE
class QComboBox;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QTreeView;
QT_END_NAMESPACE

namespace vega {
class SnapshotSource;
}

namespace vega::ui {

class JournalModel;

/**
 * The event journal: resets, breaker transitions, stalls, validations, integration changes,
 * leak suspects, storage outages and operator actions, newest first.
 *
 * With a history database (SnapshotSource::history()) the page reads the journal from it for the
 * chosen window (last hour, 24 hours or 7 days) and kind, when it is shown and every
 * kRefreshIntervalMs while it stays visible. Reads are asynchronous (the store answers on
 * this thread) and never started twice: a refresh asked for while one runs is done once it
 * ends. The store gives the oldest `limit` entries of a window; when a window holds more,
 * the page narrows the window from its old end (a bisection, one read at a time) until it
 * holds the newest `limit` and says "Truncated". Without a database, or when a read fails,
 * the page shows the recent events the latest snapshot carries (MetricsSnapshot::events).
 * The text filter matches any column, case-insensitively, over what was read.
 *
 * (Named so as not to be confused with vega::JournalPage, the store's answer to one read.)
 */
class EventJournalPage : public SnapshotPage {
    Q_OBJECT
public:
    enum Window { LastHour, LastDay, LastWeek };
    static constexpr int kRefreshIntervalMs = 5000;
    static constexpr int kDefaultRowLimit = 1000;

    explicit EventJournalPage(SnapshotSource *engine, QWidget *parent = nullptr);
    ~EventJournalPage() override;

    /// The kinds the filter offers: "reset", "breaker", "stall", "validation", "integration",
    /// "leak", "storage", "admin".
    static QStringList kinds();
    static qint64 windowMs(Window window);

    JournalModel *model() const { return m_model; }
    /// The text filter over the model, what the view shows.
    QSortFilterProxyModel *proxy() const { return m_proxy; }
    QTreeView *view() const { return m_view; }
    QComboBox *windowCombo() const { return m_windowCombo; }
    QComboBox *kindCombo() const { return m_kindCombo; }
    QLineEdit *textFilter() const { return m_textFilter; }
    /// Where the rows come from, truncation and read errors.
    QLabel *statusLabel() const { return m_status; }

    Window window() const;
    void setWindow(Window window);
    /// Empty: every kind.
    QString kindFilter() const;
    void setKindFilter(const QString &kind);
    void setTextFilter(const QString &text);
    /// Most entries shown (kDefaultRowLimit by default); at least 1.
    void setRowLimit(int rows);
    int rowLimit() const { return m_rowLimit; }

    /// A history database is read (else the snapshot's events are shown).
    bool readsHistory() const { return m_store != nullptr; }
    bool isLoading() const { return m_loading; }
    /// Journal reads started (each step of a narrowing counts).
    int readsStarted() const { return m_readsStarted; }
    /// The rows shown are the newest of more entries than fit.
    bool isTruncated() const { return m_truncated; }

public Q_SLOTS:
    /// Reads the journal again now (or once the read in flight ends).
    void refresh();

Q_SIGNALS:
    /// The rows were replaced after a read or a snapshot.
    void journalUpdated();

protected:
    void applySnapshot(const Snapshot &snapshot) override;
    void showEvent(QShowEvent *event) override;
    void hideEvent(QHideEvent *event) override;

private:
    /// A narrowing of a truncated window: [lo, to] holds more than the limit, [hi, to] not.
    struct Search {
        qint64 lo = 0;
        qint64 hi = 0;
        qint64 toMs = 0;
        bool haveBest = false;
        vega::JournalPage best;          // the read of [hi, to]
        vega::JournalPage lastTruncated; // the read of [lo, to]
    };

    void onTimer();
    void read(qint64 fromMs, qint64 toMs);
    void onRead(const vega::JournalPage &page);
    void finishSearch();
    void showEntries(const QList<JournalEntry> &entries);
    void showSnapshotEvents(const QString &why);
    qint64 nowMs() const;

    SnapshotSource *m_engine = nullptr;
    HistoryStore *m_store = nullptr;
    JournalModel *m_model = nullptr;
    QSortFilterProxyModel *m_proxy = nullptr;
    QTreeView *m_view = nullptr;
    QComboBox *m_windowCombo = nullptr;
    QComboBox *m_kindCombo = nullptr;
    QLineEdit *m_textFilter = nullptr;
    QLabel *m_status = nullptr;
    QLabel *m_updated = nullptr;
    QTimer m_timer;
    int m_rowLimit = kDefaultRowLimit;
    bool m_loading = false;
    bool m_again = false; // a refresh was asked for while reading
    bool m_searching = false;
    bool m_truncated = false;
    bool m_historyFailed = false; // the last read failed: the snapshot's events are shown
    Search m_search;
    int m_readsStarted = 0;
};

} // namespace vega::ui
