#include "memorymodels.h"

#include "format.h"
#include "healthstyle.h"

#include <QColor>
#include <QCoreApplication>
#include <QDateTime>
#include <QLocale>

#include <cmath>

namespace vega::ui {

namespace {
bool sameType(const TrackedTypeStatus &a, const TrackedTypeStatus &b)
{
    return a.live == b.live && a.slopePerMinute == b.slopePerMinute && a.confidence == b.confidence &&
           a.thresholdPerMinute == b.thresholdPerMinute && a.trend == b.trend && a.suspect == b.suspect;
}

bool sameSuspect(const LeakSuspect &a, const LeakSuspect &b)
{
    return a.growthPerMinute == b.growthPerMinute && a.confidence == b.confidence &&
           a.firstSeenWallMs == b.firstSeenWallMs && a.current == b.current && a.unit == b.unit;
}

QString formatAmount(double value, Unit unit)
{
    return unit == Unit::Bytes ? formatBytes(value) : QLocale().toString(qint64(std::llround(value)));
}

QString isoUtc(qint64 wallMs)
{
    return QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC).toString(Qt::ISODateWithMs);
}

QString trendTip(Trend trend)
{
    switch (trend) {
    case Trend::Growing:
        return QCoreApplication::translate("vega::ui::TrackedTypeModel",
                                           "Growing: faster than its threshold, with enough confidence");
    case Trend::Shrinking:
        return QCoreApplication::translate("vega::ui::TrackedTypeModel", "Shrinking");
    case Trend::Flat:
        return QCoreApplication::translate("vega::ui::TrackedTypeModel", "Flat: within its threshold");
    case Trend::Unknown:
        break;
    }
    return QCoreApplication::translate("vega::ui::TrackedTypeModel",
                                       "Unknown: not enough samples in the window yet");
}
} // namespace

QString trendArrow(Trend trend)
{
    switch (trend) {
    case Trend::Growing:
        return QStringLiteral("↑");
    case Trend::Shrinking:
        return QStringLiteral("↓");
    case Trend::Flat:
        return QStringLiteral("→");
    case Trend::Unknown:
        break;
    }
    return QStringLiteral("?");
}

QString formatGrowthPerMinute(double perMinute, Unit unit)
{
    if (!std::isfinite(perMinute))
        return missingValueText();
    const QString sign = perMinute > 0 ? QStringLiteral("+") : QString();
    if (unit == Unit::Bytes)
        return sign + formatBytes(perMinute) + QStringLiteral("/min");
    const double a = std::abs(perMinute);
    return sign + QLocale().toString(perMinute, 'f', a >= 100 ? 0 : (a >= 10 ? 1 : 2)) +
           QStringLiteral(" /min");
}

// ---- TrackedTypeModel ----

TrackedTypeModel::TrackedTypeModel(QObject *parent) : KeyedTableModel(parent) {}

TrackedTypeModel::~TrackedTypeModel() = default;

void TrackedTypeModel::setTypes(const QList<TrackedTypeStatus> &types)
{
    replaceRows(&m_types, types, [](const TrackedTypeStatus &t) { return t.name; }, sameType);
}

int TrackedTypeModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TrackedTypeModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto it = m_types.constFind(keyAt(index.row()));
    if (it == m_types.constEnd())
        return {};
    const TrackedTypeStatus &t = *it;
    const bool known = t.trend != Trend::Unknown;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TypeColumn:
            return t.name;
        case LiveColumn:
            return QLocale().toString(t.live);
        case GrowthColumn:
            return known ? formatGrowthPerMinute(t.slopePerMinute, Unit::None) : missingValueText();
        case ConfidenceColumn:
            return known ? formatRatioPercent(t.confidence) : missingValueText();
        case TrendColumn:
            return trendArrow(t.trend);
        case ThresholdColumn:
            return formatGrowthPerMinute(t.thresholdPerMinute, Unit::None).remove(QLatin1Char('+'));
        case SuspectColumn:
            return t.suspect ? tr("suspect") : QString();
        }
        break;
    case Qt::ToolTipRole:
        if (index.column() == TrendColumn)
            return trendTip(t.trend);
        if (index.column() == SuspectColumn && t.suspect)
            return tr(
                "Growing steadily for long enough while the workload was steady: see the suspects below");
        if (index.column() == LiveColumn && t.live < 0)
            return tr("Negative: the owner released more objects than it registered");
        break;
    case Qt::TextAlignmentRole:
        if (index.column() == TrendColumn || index.column() == SuspectColumn)
            return QVariant::fromValue(Qt::AlignCenter);
        if (index.column() != TypeColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::ForegroundRole:
        if (index.column() == SuspectColumn && t.suspect)
            return healthTextColor(Health::Warning);
        if (index.column() == TrendColumn && t.trend == Trend::Growing)
            return healthColor(Health::Critical);
        break;
    case Qt::BackgroundRole:
        if (index.column() == SuspectColumn && t.suspect)
            return healthColor(Health::Warning);
        break;
    case MemorySortRole:
        switch (index.column()) {
        case TypeColumn:
            return t.name;
        case LiveColumn:
            return t.live;
        case GrowthColumn:
            return t.slopePerMinute;
        case ConfidenceColumn:
            return t.confidence;
        case TrendColumn:
            return int(t.trend);
        case ThresholdColumn:
            return t.thresholdPerMinute;
        case SuspectColumn:
            return t.suspect ? 1 : 0;
        }
        break;
    }
    return {};
}

QVariant TrackedTypeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case TypeColumn:
            return tr("Type");
        case LiveColumn:
            return tr("Live");
        case GrowthColumn:
            return tr("Growth");
        case ConfidenceColumn:
            return tr("Confidence");
        case TrendColumn:
            return tr("Trend");
        case ThresholdColumn:
            return tr("Threshold");
        case SuspectColumn:
            return tr("Suspect");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case LiveColumn:
            return tr("Objects of this type alive at the latest sample");
        case GrowthColumn:
            return tr("Robust (Theil–Sen) slope over the analysis window, in objects per minute");
        case ConfidenceColumn:
            return tr("How consistently the count rises: 100 % only ever rises, 50 % no direction");
        case ThresholdColumn:
            return tr("Growth above this, with enough confidence, counts as growing");
        }
    }
    return {};
}

// ---- LeakSuspectModel ----

LeakSuspectModel::LeakSuspectModel(QObject *parent) : KeyedTableModel(parent) {}

LeakSuspectModel::~LeakSuspectModel() = default;

void LeakSuspectModel::setSuspects(const QList<LeakSuspect> &suspects)
{
    replaceRows(&m_suspects, suspects, [](const LeakSuspect &s) { return s.type; }, sameSuspect);
}

int LeakSuspectModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LeakSuspectModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto it = m_suspects.constFind(keyAt(index.row()));
    if (it == m_suspects.constEnd())
        return {};
    const LeakSuspect &s = *it;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TypeColumn:
            return s.type;
        case GrowthColumn:
            return formatGrowthPerMinute(s.growthPerMinute, s.unit);
        case ConfidenceColumn:
            return formatRatioPercent(s.confidence);
        case FirstSeenColumn:
            return formatClockTime(s.firstSeenWallMs);
        case CurrentColumn:
            return formatAmount(s.current, s.unit);
        }
        break;
    case Qt::ToolTipRole:
        switch (index.column()) {
        case TypeColumn:
            return tr("%1\nRaised %2, threshold %3")
                .arg(s.type, formatClockTime(s.raisedWallMs),
                     formatGrowthPerMinute(s.thresholdPerMinute, s.unit).remove(QLatin1Char('+')));
        case FirstSeenColumn:
            return isoUtc(s.firstSeenWallMs);
        }
        break;
    case Qt::TextAlignmentRole:
        if (index.column() != TypeColumn)
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        break;
    case Qt::ForegroundRole:
        if (index.column() == TypeColumn || index.column() == GrowthColumn)
            return healthColor(Health::Critical);
        break;
    case MemorySortRole:
        switch (index.column()) {
        case TypeColumn:
            return s.type;
        case GrowthColumn:
            return s.growthPerMinute;
        case ConfidenceColumn:
            return s.confidence;
        case FirstSeenColumn:
            return s.firstSeenWallMs;
        case CurrentColumn:
            return s.current;
        }
        break;
    }
    return {};
}

QVariant LeakSuspectModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case TypeColumn:
            return tr("Type");
        case GrowthColumn:
            return tr("Growth");
        case ConfidenceColumn:
            return tr("Confidence");
        case FirstSeenColumn:
            return tr("First seen");
        case CurrentColumn:
            return tr("Current");
        }
    } else if (role == Qt::ToolTipRole && section == FirstSeenColumn) {
        return tr("When the continuous growth that raised the suspect began");
    }
    return {};
}

} // namespace vega::ui
