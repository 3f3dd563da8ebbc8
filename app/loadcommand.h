#pragma once

#include <QStringList>

/// `vega-console load URL [options]`: drives requests through the engine's full HTTP
/// pipeline and prints what it saved. Returns the process exit code.
int runLoadCommand(const QStringList &arguments);
