#include "settingsdialog.h"

#include <QComboBox>
#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

namespace vega::ui {

SettingsDialog::SettingsDialog(int refreshIntervalMs, Theme theme, QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Console settings"));
    m_refresh = new QSpinBox(this);
    m_refresh->setObjectName(QStringLiteral("refreshSpin"));
    m_refresh->setRange(250, 10000);
    m_refresh->setSingleStep(250);
    m_refresh->setSuffix(tr(" ms"));
    m_refresh->setValue(refreshIntervalMs);
    m_refresh->setToolTip(tr("How often the visible page redraws. Slower costs less CPU; the engine keeps "
                             "measuring at its own interval."));
    m_theme = new QComboBox(this);
    m_theme->setObjectName(QStringLiteral("themeCombo"));
    m_theme->addItem(tr("Follow the system"), themeId(Theme::System));
    m_theme->addItem(tr("Light"), themeId(Theme::Light));
    m_theme->addItem(tr("Dark"), themeId(Theme::Dark));
    m_theme->setCurrentIndex(m_theme->findData(themeId(theme)));

    auto *form = new QFormLayout;
    form->addRow(tr("Refresh interval:"), m_refresh);
    form->addRow(tr("Theme:"), m_theme);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(new QLabel(tr("Settings are kept for the next start."), this));
    layout->addWidget(buttons);
}

SettingsDialog::~SettingsDialog() = default;

int SettingsDialog::refreshIntervalMs() const
{
    return m_refresh->value();
}

Theme SettingsDialog::theme() const
{
    return themeFromId(m_theme->currentData().toString());
}

} // namespace vega::ui
