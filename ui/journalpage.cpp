#include "journalpage.h"

#include "snapshotsource.h"
#include "format.h"
#include "journalmodel.h"

#include <QComboBox>
#include <QDateTime>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QPainter>
#include <QSortFilterProxyModel>
#include <QStyledItemDelegate>
#include <QTreeView>
#include <QVBoxLayout>

#include <algorithm>

namespace vega::ui {

namespace {
/// Entries stamped a little after "now" (another thread's clock, a late flush) still show.
constexpr qint64 kFutureSlackMs = 60 * 1000;

/// Draws the kind column as a rounded chip in the kind's colour.
class KindChipDelegate : public QStyledItemDelegate {
public:
    using QStyledItemDelegate::QStyledItemDelegate;

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        QStyleOptionViewItem opt(option);
        initStyleOption(&opt, index);
        const QString text = opt.text;
        const QColor color = index.data(JournalModel::KindColorRole).value<QColor>();
        // The cell as usual (selection, alternating rows), without the text and the full fill.
        opt.text.clear();
        opt.backgroundBrush = QBrush();
        const QWidget *widget = opt.widget;
        QStyle *style = widget ? widget->style() : nullptr;
        if (style)
            style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);
        if (text.isEmpty())
            return;
        const QFontMetrics fm(opt.font);
        const int width = std::min(fm.horizontalAdvance(text) + 14, opt.rect.width() - 4);
        const int height = std::min(fm.height() + 4, opt.rect.height() - 2);
        const QRect chip(opt.rect.left() + (opt.rect.width() - width) / 2,
                         opt.rect.top() + (opt.rect.height() - height) / 2, width, height);
        painter->save();
        painter->setRenderHint(QPainter::Antialiasing);
        painter->setPen(Qt::NoPen);
        painter->setBrush(color.isValid() ? color : QColor(0x7d, 0x84, 0x8f));
        painter->drawRoundedRect(chip, height / 2.0, height / 2.0);
        painter->setPen(index.data(Qt::ForegroundRole).value<QColor>());
        QFont font = opt.font;
        font.setBold(true);
        painter->setFont(font);
        painter->drawText(chip, Qt::AlignCenter, fm.elidedText(text, Qt::ElideRight, width - 8));
        painter->restore();
    }

    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override
    {
        QSize size = QStyledItemDelegate::sizeHint(option, index);
        size.setWidth(size.width() + 14);
        size.setHeight(std::max(size.height(), QFontMetrics(option.font).height() + 6));
        return size;
    }
};
} // namespace

EventJournalPage::EventJournalPage(SnapshotSource *engine, QWidget *parent)
    : SnapshotPage(parent), m_engine(engine), m_store(engine ? engine->history() : nullptr)
{
    m_updated = new QLabel(this);
    QWidget *headerRow = createHeader(tr("Journal"), m_updated);

    m_windowCombo = new QComboBox(this);
    m_windowCombo->setObjectName(QStringLiteral("journalWindow"));
    m_windowCombo->addItem(tr("Last hour"), int(LastHour));
    m_windowCombo->addItem(tr("Last 24 hours"), int(LastDay));
    m_windowCombo->addItem(tr("Last 7 days"), int(LastWeek));
    m_windowCombo->setToolTip(tr("How far back the journal is read"));

    m_kindCombo = new QComboBox(this);
    m_kindCombo->setObjectName(QStringLiteral("journalKind"));
    m_kindCombo->addItem(tr("All kinds"), QString());
    for (const QString &kind : kinds())
        m_kindCombo->addItem(kind, kind);
    m_kindCombo->setToolTip(tr("Only entries of this kind"));

    m_textFilter = new QLineEdit(this);
    m_textFilter->setObjectName(QStringLiteral("journalFilter"));
    m_textFilter->setPlaceholderText(tr("Filter: text in any column"));
    m_textFilter->setClearButtonEnabled(true);

    auto *controls = new QWidget(this);
    auto *controlLayout = new QHBoxLayout(controls);
    controlLayout->setContentsMargins(0, 0, 0, 0);
    controlLayout->addWidget(new QLabel(tr("Window"), this));
    controlLayout->addWidget(m_windowCombo);
    controlLayout->addSpacing(12);
    controlLayout->addWidget(new QLabel(tr("Kind"), this));
    controlLayout->addWidget(m_kindCombo);
    controlLayout->addSpacing(12);
    controlLayout->addWidget(m_textFilter, 1);

    m_status = new QLabel(this);
    m_status->setObjectName(QStringLiteral("journalStatus"));
    m_status->setWordWrap(true);
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);

    m_model = new JournalModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setFilterKeyColumn(-1);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_view = new QTreeView(this);
    m_view->setObjectName(QStringLiteral("journalView"));
    m_view->setModel(m_proxy);
    m_view->setRootIsDecorated(false);
    m_view->setUniformRowHeights(true);
    m_view->setAlternatingRowColors(true);
    // Newest first as the model gives it: new entries always land on top.
    m_view->setSortingEnabled(false);
    m_view->setItemDelegateForColumn(JournalModel::KindColumn, new KindChipDelegate(m_view));
    m_view->setColumnWidth(JournalModel::TimeColumn, 80);
    m_view->setColumnWidth(JournalModel::KindColumn, 100);
    m_view->setColumnWidth(JournalModel::SourceColumn, 170);
    m_view->setColumnWidth(JournalModel::MessageColumn, 520);

    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(12, 12, 12, 12);
    layout->addWidget(headerRow);
    layout->addWidget(controls);
    layout->addWidget(m_status);
    layout->addWidget(m_view, 1);

    connect(m_windowCombo, &QComboBox::currentIndexChanged, this, &EventJournalPage::refresh);
    connect(m_kindCombo, &QComboBox::currentIndexChanged, this, &EventJournalPage::refresh);
    connect(m_textFilter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);

    m_timer.setInterval(kRefreshIntervalMs);
    connect(&m_timer, &QTimer::timeout, this, &EventJournalPage::onTimer);

    if (engine)
        setSnapshot(engine->latest());
}

EventJournalPage::~EventJournalPage() = default;

QStringList EventJournalPage::kinds()
{
    return {QStringLiteral("reset"),      QStringLiteral("breaker"),     QStringLiteral("stall"),
            QStringLiteral("validation"), QStringLiteral("integration"), QStringLiteral("leak"),
            QStringLiteral("storage"),    QStringLiteral("admin")};
}

qint64 EventJournalPage::windowMs(Window window)
{
    constexpr qint64 hour = 3600 * 1000;
    switch (window) {
    case LastHour:
        return hour;
    case LastDay:
        return 24 * hour;
    case LastWeek:
        return 7 * 24 * hour;
    }
    return hour;
}

EventJournalPage::Window EventJournalPage::window() const
{
    return Window(m_windowCombo->currentData().toInt());
}

void EventJournalPage::setWindow(Window window)
{
    m_windowCombo->setCurrentIndex(m_windowCombo->findData(int(window)));
}

QString EventJournalPage::kindFilter() const
{
    return m_kindCombo->currentData().toString();
}

void EventJournalPage::setKindFilter(const QString &kind)
{
    int index = m_kindCombo->findData(kind);
    if (index < 0) {
        // A kind the list does not name (an embedding program's own) can still be filtered on.
        m_kindCombo->addItem(kind, kind);
        index = m_kindCombo->count() - 1;
    }
    m_kindCombo->setCurrentIndex(index);
}

void EventJournalPage::setTextFilter(const QString &text)
{
    m_textFilter->setText(text);
}

void EventJournalPage::setRowLimit(int rows)
{
    m_rowLimit = std::max(1, rows);
}

qint64 EventJournalPage::nowMs() const
{
    return m_engine ? m_engine->wallNowMs() : QDateTime::currentMSecsSinceEpoch();
}

void EventJournalPage::refresh()
{
    if (!m_store) {
        showSnapshotEvents(QString());
        return;
    }
    if (m_loading) {
        m_again = true;
        return;
    }
    m_searching = false;
    const qint64 now = nowMs();
    read(now - windowMs(window()), now + kFutureSlackMs);
}

void EventJournalPage::onTimer()
{
    // Only while on screen, and never a second read beside one in flight.
    if (isVisible() && !m_loading)
        refresh();
}

void EventJournalPage::read(qint64 fromMs, qint64 toMs)
{
    m_loading = true;
    ++m_readsStarted;
    JournalQuery query;
    query.fromMs = fromMs;
    query.toMs = toMs;
    query.kind = kindFilter();
    query.limit = m_rowLimit;
    m_store->loadJournal(query, this, [this](const vega::JournalPage &page) { onRead(page); });
}

void EventJournalPage::onRead(const vega::JournalPage &page)
{
    if (m_again) {
        // The filters changed (or a refresh was asked for) meanwhile: this answer is stale.
        m_loading = false;
        m_again = false;
        m_searching = false;
        refresh();
        return;
    }
    if (!page.ok()) {
        m_loading = false;
        m_searching = false;
        m_historyFailed = true;
        showSnapshotEvents(
            tr("History unavailable (%1): showing the recent events in memory.").arg(page.error));
        return;
    }
    m_historyFailed = false;
    if (!m_searching) {
        if (!page.truncated) {
            m_loading = false;
            m_truncated = false;
            showEntries(QList<JournalEntry>(page.entries.cbegin(), page.entries.cend()));
            m_status->setText(
                tr("From the history database: %n entries.", nullptr, int(page.entries.size())));
            Q_EMIT journalUpdated();
            return;
        }
        // More than fit: find the newest entries by narrowing the window from its old end.
        m_searching = true;
        m_search = Search();
        m_search.lo = page.query.fromMs;
        m_search.hi = page.query.toMs + 1; // [to + 1, to] is empty: never too full
        m_search.toMs = page.query.toMs;
        m_search.lastTruncated = page;
    } else if (page.truncated) {
        m_search.lo = page.query.fromMs;
        m_search.lastTruncated = page;
    } else {
        m_search.hi = page.query.fromMs;
        m_search.best = page;
        m_search.haveBest = true;
    }
    if (m_search.hi - m_search.lo > 1) {
        read(m_search.lo + (m_search.hi - m_search.lo) / 2, m_search.toMs);
        return;
    }
    finishSearch();
}

void EventJournalPage::finishSearch()
{
    // [hi, to] holds at most the limit; the entries before hi are all at lo (hi == lo + 1):
    // the oldest of them come first in the truncated read of [lo, to].
    QList<JournalEntry> entries;
    const QList<JournalEntry> sameMs(m_search.lastTruncated.entries.cbegin(),
                                     m_search.lastTruncated.entries.cend());
    const qsizetype room = m_rowLimit - (m_search.haveBest ? m_search.best.entries.size() : 0);
    qsizetype atLo = 0;
    for (const JournalEntry &e : sameMs)
        if (e.tMs < m_search.hi)
            ++atLo;
    const qsizetype take = std::min(room, atLo);
    for (qsizetype i = atLo - take; i < atLo; ++i)
        entries.append(sameMs.at(i));
    if (m_search.haveBest)
        entries.append(QList<JournalEntry>(m_search.best.entries.cbegin(), m_search.best.entries.cend()));
    m_loading = false;
    m_searching = false;
    m_truncated = true;
    m_search = Search();
    showEntries(entries);
    m_status->setText(tr("Truncated: showing the newest %1 entries of the window (narrow the window or the "
                         "kind to see older ones).")
                          .arg(QLocale().toString(qint64(entries.size()))));
    Q_EMIT journalUpdated();
}

void EventJournalPage::showEntries(const QList<JournalEntry> &entries)
{
    m_model->setEntries(entries);
}

void EventJournalPage::showSnapshotEvents(const QString &why)
{
    const SnapshotPtr latest = snapshot();
    QList<JournalEntry> entries;
    if (latest && latest->metrics) {
        const qint64 from = latest->metrics->wallMs - windowMs(window());
        const QString kind = kindFilter();
        for (const JournalEntry &e : journalEntriesFromEvents(latest->metrics->events)) {
            if (e.tMs >= from && (kind.isEmpty() || e.kind == kind))
                entries.append(e);
        }
    }
    m_truncated = false;
    showEntries(entries);
    m_status->setText(!why.isEmpty()
                          ? why
                          : tr("No history database: showing the %n most recent events kept in memory.",
                               nullptr, int(entries.size())));
    Q_EMIT journalUpdated();
}

void EventJournalPage::applySnapshot(const Snapshot &snapshot)
{
    if (snapshot.metrics)
        m_updated->setText(tr("Updated %1").arg(formatClockTime(snapshot.metrics->wallMs)));
    if (!m_store)
        showSnapshotEvents(QString());
    else if (m_historyFailed && !m_loading)
        showSnapshotEvents(m_status->text());
}

void EventJournalPage::showEvent(QShowEvent *event)
{
    SnapshotPage::showEvent(event);
    m_timer.start();
    if (m_store)
        refresh();
}

void EventJournalPage::hideEvent(QHideEvent *event)
{
    m_timer.stop();
    SnapshotPage::hideEvent(event);
}

} // namespace vega::ui
