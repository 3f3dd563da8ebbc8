#include "breakertilegrid.h"

#include <QAction>
#include <QEnterEvent>
#include <QSet>

#include <algorithm>

namespace vega::ui {

namespace {
constexpr int kSpacing = 10;
constexpr double kErrorRateMargin = 0.05; // 5 percentage points
constexpr double kVolumeFactor = 1.25;
constexpr double kVolumeMargin = 0.5; // calls/s

double sortValue(const BreakerTileData &d, BreakerTileGrid::SortKey key)
{
    // Breakers without evidence sort after every breaker that has some.
    if (key == BreakerTileGrid::SortKey::ErrorRate)
        return d.callsInWindow > 0 ? d.failureRate : -1.0;
    return d.volume.value_or(-1.0);
}

/// Whether `a` is ahead of `b` by more than the margin, so it may pass it.
bool passes(double a, double b, BreakerTileGrid::SortKey key)
{
    if (b < 0)
        return a >= 0;
    if (key == BreakerTileGrid::SortKey::ErrorRate)
        return a > b + kErrorRateMargin;
    return a > b * kVolumeFactor + kVolumeMargin;
}

bool nameLess(const QString &a, const QString &b)
{
    const int c = a.compare(b, Qt::CaseInsensitive);
    return c != 0 ? c < 0 : a < b;
}
} // namespace

BreakerTileGrid::BreakerTileGrid(QWidget *parent) : QWidget(parent)
{
    setObjectName(QStringLiteral("breakerTileGrid"));
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Preferred);
}

BreakerTileGrid::~BreakerTileGrid() = default;

QStringList BreakerTileGrid::arrange(const QStringList &current, const QHash<QString, BreakerTileData> &data,
                                     SortKey key)
{
    QStringList out = current;
    if (key == SortKey::Name) {
        std::stable_sort(out.begin(), out.end(), nameLess);
        return out;
    }
    QList<double> values;
    values.reserve(out.size());
    for (const QString &name : std::as_const(out))
        values.append(sortValue(data.value(name), key));
    // Insertion sort that only lets an item pass its predecessor when ahead by the margin:
    // deterministic, and the current order wins whenever values are close.
    for (int i = 1; i < out.size(); ++i) {
        int j = i;
        while (j > 0 && passes(values.at(i), values.at(j - 1), key))
            --j;
        if (j == i)
            continue;
        out.move(i, j);
        values.move(i, j);
    }
    return out;
}

void BreakerTileGrid::setBreakers(const QList<BreakerTileData> &breakers)
{
    QHash<QString, BreakerTileData> data;
    QStringList added;
    for (const BreakerTileData &b : breakers) {
        if (b.name.isEmpty() || data.contains(b.name))
            continue;
        data.insert(b.name, b);
        if (!m_tiles.contains(b.name))
            added.append(b.name);
    }

    bool structureChanged = false;
    // Removed breakers.
    for (auto it = m_tiles.begin(); it != m_tiles.end();) {
        if (data.contains(it.key())) {
            ++it;
            continue;
        }
        it.value()->hide();
        it.value()->deleteLater();
        m_order.removeAll(it.key());
        if (m_selected == it.key())
            setSelectedBreaker(QString());
        it = m_tiles.erase(it);
        structureChanged = true;
    }
    // New breakers: created in name order at the end; the re-sort below (or when the pointer
    // leaves) moves them to their place.
    std::sort(added.begin(), added.end(), nameLess);
    for (const QString &name : std::as_const(added)) {
        auto *tile = new BreakerTile(name, this);
        tile->setContextMenuPolicy(Qt::ActionsContextMenu);
        tile->addActions(m_tileActions);
        connect(tile, &BreakerTile::clicked, this, &BreakerTileGrid::setSelectedBreaker);
        m_tiles.insert(name, tile);
        m_order.append(name);
        structureChanged = true;
    }
    for (auto it = data.cbegin(); it != data.cend(); ++it)
        m_tiles.value(it.key())->setData(it.value());
    m_data = std::move(data);

    if (m_frozen) {
        m_rearrangePending = true;
        if (structureChanged)
            relayout();
        return;
    }
    const QStringList arranged = arrange(m_order, m_data, m_sortKey);
    if (arranged != m_order || structureChanged) {
        m_order = arranged;
        relayout();
    }
}

QStringList BreakerTileGrid::visibleOrder() const
{
    QStringList out;
    for (const QString &name : m_order)
        if (matchesFilter(name))
            out.append(name);
    return out;
}

void BreakerTileGrid::setTileActions(const QList<QAction *> &actions)
{
    m_tileActions = actions;
    for (BreakerTile *tile : std::as_const(m_tiles)) {
        const QList<QAction *> old = tile->actions();
        for (QAction *a : old)
            tile->removeAction(a);
        tile->addActions(actions);
    }
}

void BreakerTileGrid::setSortKey(SortKey key)
{
    m_sortKey = key;
    rearrange(); // an explicit choice: applies at once, even over the tiles
}

void BreakerTileGrid::setFilterText(const QString &text)
{
    const QString trimmed = text.trimmed();
    if (trimmed == m_filter)
        return;
    m_filter = trimmed;
    if (!m_selected.isEmpty() && !matchesFilter(m_selected))
        setSelectedBreaker(QString());
    relayout();
}

void BreakerTileGrid::setSelectedBreaker(const QString &name)
{
    const QString selected = m_tiles.contains(name) ? name : QString();
    if (selected == m_selected)
        return;
    if (BreakerTile *old = m_tiles.value(m_selected))
        old->setSelected(false);
    m_selected = selected;
    if (BreakerTile *now = m_tiles.value(m_selected))
        now->setSelected(true);
    Q_EMIT selectedBreakerChanged(m_selected);
}

bool BreakerTileGrid::matchesFilter(const QString &name) const
{
    return m_filter.isEmpty() || name.contains(m_filter, Qt::CaseInsensitive);
}

void BreakerTileGrid::rearrange()
{
    m_rearrangePending = false;
    m_order = arrange(m_order, m_data, m_sortKey);
    relayout();
}

int BreakerTileGrid::columnsFor(int width) const
{
    return std::max(1, (width + kSpacing) / (BreakerTile::kMinimumWidth + kSpacing));
}

int BreakerTileGrid::heightForWidth(int width) const
{
    const int shown = int(visibleOrder().size());
    const int rows = (shown + columnsFor(width) - 1) / columnsFor(width);
    return rows > 0 ? rows * BreakerTile::kHeight + (rows - 1) * kSpacing : BreakerTile::kHeight;
}

QSize BreakerTileGrid::sizeHint() const
{
    const int width = 3 * BreakerTile::kMinimumWidth + 2 * kSpacing;
    return {width, heightForWidth(width)};
}

QSize BreakerTileGrid::minimumSizeHint() const
{
    return {BreakerTile::kMinimumWidth, BreakerTile::kHeight};
}

void BreakerTileGrid::relayout()
{
    const QStringList shown = visibleOrder();
    const int columns = columnsFor(width());
    // The tiles share the row's width, so a row is always full.
    const int tileWidth =
        std::max(BreakerTile::kMinimumWidth, (width() - (columns - 1) * kSpacing) / columns);
    for (int i = 0; i < shown.size(); ++i) {
        BreakerTile *tile = m_tiles.value(shown.at(i));
        tile->setGeometry((i % columns) * (tileWidth + kSpacing),
                          (i / columns) * (BreakerTile::kHeight + kSpacing), tileWidth, BreakerTile::kHeight);
        tile->show();
    }
    const QSet<QString> visible(shown.cbegin(), shown.cend());
    for (auto it = m_tiles.cbegin(); it != m_tiles.cend(); ++it)
        if (!visible.contains(it.key()))
            it.value()->hide();
    setMinimumHeight(heightForWidth(width()));
    updateGeometry();
    Q_EMIT orderChanged();
}

void BreakerTileGrid::enterEvent(QEnterEvent *event)
{
    QWidget::enterEvent(event);
    if (!m_frozen) {
        m_frozen = true;
        Q_EMIT orderFrozenChanged(true);
    }
}

void BreakerTileGrid::leaveEvent(QEvent *event)
{
    QWidget::leaveEvent(event);
    if (!m_frozen)
        return;
    m_frozen = false;
    if (m_rearrangePending)
        rearrange();
    Q_EMIT orderFrozenChanged(false);
}

void BreakerTileGrid::resizeEvent(QResizeEvent *event)
{
    QWidget::resizeEvent(event);
    relayout();
}

} // namespace vega::ui
