#include "integrationmodel.h"

#include "format.h"
#include "healthstyle.h"

#include <QColor>
#include <QDateTime>
#include <QLocale>

namespace vega::ui {

namespace {
bool sameStatus(const IntegrationStatus &a, const IntegrationStatus &b)
{
    return a.kind == b.kind && a.target == b.target && a.state == b.state && a.reason == b.reason &&
           a.latencyMs == b.latencyMs && a.httpStatus == b.httpStatus &&
           a.lastCheckWallMs == b.lastCheckWallMs && a.lastSuccessWallMs == b.lastSuccessWallMs &&
           a.lastError == b.lastError && a.lastErrorWallMs == b.lastErrorWallMs &&
           a.consecutiveFailures == b.consecutiveFailures && a.checksRun == b.checksRun &&
           a.checking == b.checking;
}

QString isoTime(qint64 wallMs)
{
    return QDateTime::fromMSecsSinceEpoch(wallMs, Qt::UTC).toString(Qt::ISODateWithMs);
}

QString oneLine(QString text)
{
    text.replace(QLatin1Char('\n'), QLatin1Char(' '));
    return text;
}

/// Yellow text is unreadable on a light row: degraded is drawn darker.
QColor stateTextColor(Health state)
{
    const QColor c = healthColor(state);
    return state == Health::Warning ? c.darker(150) : c;
}

const QColor kErrorColor(0xb9, 0x1c, 0x1c);
const QColor kGrey(0x7d, 0x84, 0x8f);
} // namespace

QString formatTimeAgo(qint64 thenWallMs, qint64 nowWallMs)
{
    if (thenWallMs <= 0)
        return IntegrationModel::tr("never");
    const qint64 seconds = (nowWallMs - thenWallMs) / 1000;
    if (seconds < 1)
        return IntegrationModel::tr("just now");
    if (seconds < 60)
        return IntegrationModel::tr("%1 s ago").arg(seconds);
    if (seconds < 3600)
        return IntegrationModel::tr("%1 min ago").arg(seconds / 60);
    if (seconds < 86400)
        return IntegrationModel::tr("%1 h ago").arg(seconds / 3600);
    return IntegrationModel::tr("%1 d ago").arg(seconds / 86400);
}

int integrationStateRank(Health state)
{
    switch (state) {
    case Health::Ok:
        return 0;
    case Health::Unknown:
        return 1;
    case Health::Warning:
        return 2;
    case Health::Critical:
        return 3;
    }
    return 1;
}

IntegrationModel::IntegrationModel(QObject *parent) : KeyedTableModel(parent) {}

IntegrationModel::~IntegrationModel() = default;

void IntegrationModel::setIntegrations(const QList<IntegrationStatus> &integrations, qint64 nowWallMs)
{
    // "ago" moves with the clock: every row with a last success changes with a new time.
    const bool timeMoved = nowWallMs / 1000 != m_nowWallMs / 1000;
    replaceRows(&m_status, integrations, [](const IntegrationStatus &s) { return s.name; },
                [timeMoved](const IntegrationStatus &before, const IntegrationStatus &now) {
                    return sameStatus(before, now) && !(timeMoved && now.lastSuccessWallMs > 0);
                });
    m_nowWallMs = nowWallMs;
}

int IntegrationModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString IntegrationModel::reasonText(const IntegrationStatus &s) const
{
    if (!s.reason.isEmpty())
        return oneLine(s.reason);
    if (!s.lastError.isEmpty())
        return tr("recovered; last error %1: %2")
            .arg(formatClockTime(s.lastErrorWallMs), oneLine(s.lastError));
    return {};
}

QVariant IntegrationModel::data(const QModelIndex &index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto it = m_status.constFind(keyAt(index.row()));
    if (it == m_status.constEnd())
        return {};
    const IntegrationStatus &s = *it;
    const QLocale locale;
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NameColumn:
            return s.name;
        case KindColumn:
            return integrationKindName(s.kind);
        case StateColumn:
            return s.checking && s.checksRun == 0 ? tr("checking…") : integrationStateName(s.state);
        case LatencyColumn:
            return s.latencyMs < 0 ? missingValueText()
                                   : locale.toString(s.latencyMs, 'f', s.latencyMs < 10 ? 2 : 1);
        case HttpStatusColumn:
            return s.httpStatus > 0 ? QString::number(s.httpStatus) : missingValueText();
        case LastCheckColumn:
            return formatClockTime(s.lastCheckWallMs);
        case LastSuccessColumn:
            return formatTimeAgo(s.lastSuccessWallMs, m_nowWallMs);
        case FailuresColumn:
            return locale.toString(s.consecutiveFailures);
        case ChecksColumn:
            return locale.toString(s.checksRun);
        case ReasonColumn:
            return reasonText(s);
        }
        break;
    case Qt::ToolTipRole:
        switch (index.column()) {
        case NameColumn:
        case KindColumn:
            return s.target;
        case StateColumn:
            return s.checking ? tr("%1; a check is in flight").arg(integrationStateName(s.state))
                              : integrationStateName(s.state);
        case LastCheckColumn:
            return s.lastCheckWallMs > 0 ? isoTime(s.lastCheckWallMs) : QVariant();
        case LastSuccessColumn:
            return s.lastSuccessWallMs > 0 ? isoTime(s.lastSuccessWallMs) : tr("No check has passed yet");
        case ReasonColumn: {
            QStringList lines;
            if (!s.reason.isEmpty())
                lines.append(s.reason);
            if (!s.lastError.isEmpty())
                lines.append(tr("Last error (%1): %2").arg(isoTime(s.lastErrorWallMs), s.lastError));
            return lines.isEmpty() ? QVariant() : QVariant(lines.join(QLatin1Char('\n')));
        }
        }
        break;
    case Qt::TextAlignmentRole:
        switch (index.column()) {
        case LatencyColumn:
        case HttpStatusColumn:
        case FailuresColumn:
        case ChecksColumn:
            return QVariant::fromValue(Qt::AlignRight | Qt::AlignVCenter);
        }
        break;
    case Qt::DecorationRole:
        if (index.column() == StateColumn)
            return healthColor(s.state);
        break;
    case Qt::ForegroundRole:
        switch (index.column()) {
        case StateColumn:
            return stateTextColor(s.state);
        case HttpStatusColumn:
            if (s.httpStatus >= 400)
                return kErrorColor;
            break;
        case FailuresColumn:
            if (s.consecutiveFailures > 0)
                return kErrorColor;
            break;
        case ReasonColumn:
            if (s.state == Health::Critical)
                return kErrorColor;
            if (s.reason.isEmpty())
                return kGrey;
            break;
        }
        break;
    case IntegrationSortRole:
        switch (index.column()) {
        case NameColumn:
            return s.name;
        case KindColumn:
            return integrationKindName(s.kind);
        case StateColumn:
            return integrationStateRank(s.state);
        case LatencyColumn:
            return s.latencyMs;
        case HttpStatusColumn:
            return s.httpStatus;
        case LastCheckColumn:
            return s.lastCheckWallMs;
        case LastSuccessColumn:
            return s.lastSuccessWallMs;
        case FailuresColumn:
            return s.consecutiveFailures;
        case ChecksColumn:
            return s.checksRun;
        case ReasonColumn:
            return reasonText(s);
        }
        break;
    case IntegrationFilterRole:
        return QString(s.name + QLatin1Char(' ') + integrationKindName(s.kind) + QLatin1Char(' ') +
                       integrationStateName(s.state));
    }
    return {};
}

QVariant IntegrationModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    if (role == Qt::DisplayRole) {
        switch (section) {
        case NameColumn:
            return tr("Integration");
        case KindColumn:
            return tr("Kind");
        case StateColumn:
            return tr("State");
        case LatencyColumn:
            return tr("Latency ms");
        case HttpStatusColumn:
            return tr("HTTP");
        case LastCheckColumn:
            return tr("Last check");
        case LastSuccessColumn:
            return tr("Last success");
        case FailuresColumn:
            return tr("Failures");
        case ChecksColumn:
            return tr("Checks");
        case ReasonColumn:
            return tr("Reason / last error");
        }
    } else if (role == Qt::ToolTipRole) {
        switch (section) {
        case StateColumn:
            return tr("healthy: the check passed; degraded: it passed but slower than the latency threshold; "
                      "unhealthy: it failed; unknown: not checked yet");
        case LatencyColumn:
            return tr("Duration of the latest health check");
        case HttpStatusColumn:
            return tr("HTTP status of the latest check; — without an HTTP answer");
        case FailuresColumn:
            return tr("Unhealthy checks in a row");
        case ChecksColumn:
            return tr("Checks run since the engine started");
        case ReasonColumn:
            return tr("Why the current state; after a recovery, the last error");
        }
    }
    return {};
}

} // namespace vega::ui
