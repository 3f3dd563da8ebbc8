#pragma once

#include "theme.h"

#include <QDialog>

QT_BEGIN_NAMESPACE
class QComboBox;
class QSpinBox;
QT_END_NAMESPACE

namespace vega::ui {

/// The console's settings: refresh interval and theme. Applied by the window on accept.
class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    SettingsDialog(int refreshIntervalMs, Theme theme, QWidget *parent = nullptr);
    ~SettingsDialog() override;

    int refreshIntervalMs() const;
    Theme theme() const;
    QSpinBox *refreshSpin() const { return m_refresh; }
    QComboBox *themeCombo() const { return m_theme; }

private:
    QSpinBox *m_refresh = nullptr;
    QComboBox *m_theme = nullptr;
};

} // namespace vega::ui
