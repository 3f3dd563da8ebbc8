#pragma once

#include "breakertile.h"

#include <QHash>
#include <QList>
#include <QStringList>
#include <QWidget>

namespace vega::ui {

/**
 * The breaker tiles in rows, sorted and filtered without making them jump under the cursor.
 *
 * How the order is kept still (htop #399, Hystrix #58):
 *  - Sorting by name is fixed. Sorting by error rate or volume is live, but a tile only
 *    overtakes the one before it when its value is higher by a margin (5 percentage points
 *    of error rate; 25 % + 0.5 calls/s of volume). Within the margin the current order holds,
 *    so two breakers with similar numbers never swap back and forth every snapshot.
 *  - While the pointer is over the tiles the order is frozen altogether: values update in
 *    place, a breaker that appears goes to the end, and the pending re-sort happens when the
 *    pointer leaves. Whatever the operator aims at stays where it is.
 *  - Choosing a sort key or typing a filter (explicit actions, made away from the tiles)
 *    re-arranges at once. The filter only hides tiles; the others keep their relative order.
 */
class BreakerTileGrid : public QWidget {
    Q_OBJECT
public:
    enum class SortKey { Name, ErrorRate, Volume };

    explicit BreakerTileGrid(QWidget *parent = nullptr);
    ~BreakerTileGrid() override;

    /// One entry per breaker; tiles of breakers no longer listed are removed.
    void setBreakers(const QList<BreakerTileData> &breakers);

    SortKey sortKey() const { return m_sortKey; }
    QString filterText() const { return m_filter; }

    /// Every breaker in display order, filtered out ones included.
    QStringList order() const { return m_order; }
    /// The breakers shown, in display order.
    QStringList visibleOrder() const;
    int tileCount() const { return int(m_tiles.size()); }
    BreakerTile *tile(const QString &name) const { return m_tiles.value(name); }

    QString selectedBreaker() const { return m_selected; }
    bool isOrderFrozen() const { return m_frozen; }
    /// Actions offered by every tile's context menu (they act on the selected breaker).
    void setTileActions(const QList<QAction *> &actions);

    /// `current` re-ordered by `key`: by name, or descending by value where an item passes the
    /// one before it only when ahead by the key's margin (the current order breaks ties).
    static QStringList arrange(const QStringList &current, const QHash<QString, BreakerTileData> &data,
                               SortKey key);

    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

public Q_SLOTS:
    void setSortKey(vega::ui::BreakerTileGrid::SortKey key);
    void setFilterText(const QString &text);
    /// Empty clears the selection.
    void setSelectedBreaker(const QString &name);

Q_SIGNALS:
    void selectedBreakerChanged(const QString &name);
    void orderFrozenChanged(bool frozen);
    /// The tiles were laid out again (a re-sort, a filter, a breaker added or removed, a resize).
    void orderChanged();

protected:
    void enterEvent(QEnterEvent *event) override;
    void leaveEvent(QEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    void rearrange();
    void relayout();
    int columnsFor(int width) const;
    bool matchesFilter(const QString &name) const;

    QHash<QString, BreakerTile *> m_tiles;
    QHash<QString, BreakerTileData> m_data;
    QStringList m_order;
    QList<QAction *> m_tileActions;
    QString m_filter;
    QString m_selected;
    SortKey m_sortKey = SortKey::ErrorRate;
    bool m_frozen = false;
    bool m_rearrangePending = false;
};

} // namespace vega::ui
