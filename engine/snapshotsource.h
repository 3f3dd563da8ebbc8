#pragma once

#include "config.h"
#include "httpclient.h"
#include "snapshot.h"

#include <QObject>

#include <functional>
#include <memory>

namespace vega {

class HistoryStore;

/// The outcome of an operator action sent to a source: applied or not, and what happened.
struct ActionResult {
    bool ok = false;
    QString message; // what was done, or the error (names the target and the reason)
};
using ActionCallback = std::function<void(const ActionResult &result)>;

/// "forced open", "forced closed" or "reset", for messages.
inline QString breakerCommandDescription(BreakerCommand command)
{
    switch (command) {
    case BreakerCommand::ForceOpen:
        return QStringLiteral("forced open");
    case BreakerCommand::ForceClosed:
        return QStringLiteral("forced closed");
    case BreakerCommand::Reset:
        break;
    }
    return QStringLiteral("reset");
}

/// The admin API's path segment of a breaker command: "force-open", "force-closed", "reset".
inline QString breakerCommandPath(BreakerCommand command)
{
    switch (command) {
    case BreakerCommand::ForceOpen:
        return QStringLiteral("force-open");
    case BreakerCommand::ForceClosed:
        return QStringLiteral("force-closed");
    case BreakerCommand::Reset:
        break;
    }
    return QStringLiteral("reset");
}

/**
 * Where the console's pages get their data and send their actions: the local engine, or a
 * remote agent (RemoteAgent) that streams the snapshots of an engine on another machine. Pages
 * read only this interface, so a remote agent gets exactly the pages the local engine gets.
 *
 * Snapshots are immutable; snapshotAvailable() announces each new one on the source's thread.
 * Actions never block: their outcome arrives through the callback (later for a remote source,
 * possibly before the call returns for the local engine), and it names the reason on failure.
 */
class SnapshotSource : public QObject {
    Q_OBJECT
public:
    enum class Link { Local, Connecting, Connected, Lost };
    Q_ENUM(Link)

    using QObject::QObject;

    /// A short name for menus and tiles ("local", or the agent's name).
    virtual QString sourceName() const = 0;
    virtual bool isRemote() const { return false; }
    /// How the source is reached; a local engine is always Local.
    virtual Link link() const { return Link::Local; }
    /// The last error of the link (empty while connected or local).
    virtual QString linkError() const { return {}; }

    /// The latest snapshot: never null for a local engine; for a remote source null until the
    /// first one arrived, and the last one received while the link is lost.
    virtual SnapshotPtr latest() const = 0;
    /// The configuration in force at the source (a remote source: the agent's effective
    /// configuration, defaults until the first snapshot).
    virtual const EngineConfig &config() const = 0;
    /// Whether the source runs with a configuration file, and whether it runs the demo.
    virtual QString configPath() const = 0;
    virtual bool isDemo() const = 0;
    /// Metric history and the journal on disk; null when there is none (remote sources).
    virtual HistoryStore *history() const { return nullptr; }
    /// The source's wall clock now, in UTC ms.
    virtual qint64 wallNowMs() const = 0;

    // --- Operator actions -------------------------------------------------------------------
    virtual void resetStats(const QString &who = QStringLiteral("operator"), const ActionCallback &done = {}) = 0;
    /// Validates the configuration; validationFinished() tells the outcome.
    virtual void validateConfig(const QString &who = QStringLiteral("operator"),
                                const ActionCallback &done = {}) = 0;
    virtual bool isValidating() const = 0;
    virtual std::shared_ptr<const ValidationReport> lastValidation() const = 0;
    virtual void commandBreaker(const QString &name, BreakerCommand command, const ActionCallback &done = {}) = 0;
    /// Health-checks one integration now (all when name is empty).
    virtual void checkIntegrations(const QString &name = {}, const ActionCallback &done = {}) = 0;
    virtual bool canCheckIntegrations() const = 0;

Q_SIGNALS:
    void snapshotAvailable(const vega::SnapshotPtr &snapshot);
    void validationFinished(const vega::ValidationReport &report);
    /// The link changed (remote sources only).
    void linkChanged(vega::SnapshotSource::Link link);
};

} // namespace vega
