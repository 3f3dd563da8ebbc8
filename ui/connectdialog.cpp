#include "connectdialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QRadioButton>
#include <QVBoxLayout>

namespace vega::ui {

ConnectDialog::ConnectDialog(QWidget *parent) : QDialog(parent)
{
    setWindowTitle(tr("Connect to agent"));
    setObjectName(QStringLiteral("connectDialog"));
    m_address = new QLineEdit(this);
    m_address->setObjectName(QStringLiteral("agentAddress"));
    m_address->setPlaceholderText(tr("host:9470 or http://host:9470"));
    m_name = new QLineEdit(this);
    m_name->setObjectName(QStringLiteral("agentName"));
    m_name->setPlaceholderText(tr("optional: the name the agent announces"));
    m_fromEnvironment = new QRadioButton(tr("From the environment variable"), this);
    m_fromEnvironment->setChecked(true);
    m_variable = new QLineEdit(QStringLiteral("VEGA_API_KEY"), this);
    m_variable->setObjectName(QStringLiteral("keyVariable"));
    m_typed = new QRadioButton(tr("Typed here"), this);
    m_key = new QLineEdit(this);
    m_key->setObjectName(QStringLiteral("apiKey"));
    m_key->setEchoMode(QLineEdit::Password);
    m_key->setEnabled(false);
    connect(m_typed, &QRadioButton::toggled, m_key, &QWidget::setEnabled);
    connect(m_typed, &QRadioButton::toggled, m_variable, [this](bool typed) { m_variable->setEnabled(!typed); });
    m_error = new QLabel(this);
    m_error->setObjectName(QStringLiteral("connectError"));
    m_error->setStyleSheet(QStringLiteral("color: #b91c1c;"));
    m_error->setWordWrap(true);
    m_error->hide();

    auto *form = new QFormLayout;
    form->addRow(tr("Agent address:"), m_address);
    form->addRow(tr("Name:"), m_name);
    form->addRow(tr("API key:"), m_fromEnvironment);
    form->addRow(QString(), m_variable);
    form->addRow(QString(), m_typed);
    form->addRow(QString(), m_key);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    connect(buttons, &QDialogButtonBox::accepted, this, &ConnectDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto *layout = new QVBoxLayout(this);
    layout->addWidget(new QLabel(tr("The agent is a <tt>vega-console --headless</tt> whose admin API is on; "
                                    "the console follows its live snapshot stream."),
                                 this));
    layout->addLayout(form);
    layout->addWidget(m_error);
    layout->addWidget(buttons);
}

ConnectDialog::~ConnectDialog() = default;

void ConnectDialog::setAddress(const QString &address)
{
    m_address->setText(address);
}

void ConnectDialog::setName(const QString &name)
{
    m_name->setText(name);
}

void ConnectDialog::setKeyEnvironmentVariable(const QString &name)
{
    m_fromEnvironment->setChecked(true);
    m_variable->setText(name);
}

void ConnectDialog::setKey(const QString &key)
{
    m_typed->setChecked(true);
    m_key->setText(key);
}

QString ConnectDialog::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

bool ConnectDialog::check()
{
    auto fail = [this](const QString &text) {
        m_error->setText(text);
        m_error->show();
        return false;
    };
    vega::RemoteAgentOptions options;
    QString name;
    QString error;
    if (!vega::parseAgentAddress(m_address->text(), &options.baseUrl, &name, &error))
        return fail(error);
    options.name = m_name->text().trimmed().isEmpty() ? name : m_name->text().trimmed();
    if (m_typed->isChecked()) {
        options.apiKey = m_key->text().trimmed().toUtf8();
        if (options.apiKey.isEmpty())
            return fail(tr("Type the agent's API key, or read it from an environment variable."));
    } else {
        const QString variable = m_variable->text().trimmed();
        if (variable.isEmpty())
            return fail(tr("Name the environment variable that holds the agent's API key."));
        options.apiKey = qgetenv(variable.toLocal8Bit().constData()).trimmed();
        if (options.apiKey.isEmpty())
            return fail(tr("The environment variable %1 is not set (or empty) in this console's environment.")
                            .arg(variable));
    }
    m_error->hide();
    m_options = options;
    return true;
}

void ConnectDialog::accept()
{
    if (check())
        QDialog::accept();
}

} // namespace vega::ui
