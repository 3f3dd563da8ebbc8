#pragma once

#include "remoteagent.h"

#include <QDialog>

QT_BEGIN_NAMESPACE
class QLabel;
class QLineEdit;
class QRadioButton;
QT_END_NAMESPACE

namespace vega::ui {

/**
 * File > Connect to agent: the agent's address ("host:port", "http://host:port", optionally
 * "name=" first), an optional display name, and where the API key comes from: an environment
 * variable of the console (by name, the default VEGA_API_KEY) or typed in. Accepting checks
 * both and names the problem in the dialog; the key is never shown again or stored.
 */
class ConnectDialog : public QDialog {
    Q_OBJECT
public:
    explicit ConnectDialog(QWidget *parent = nullptr);
    ~ConnectDialog() override;

    void setAddress(const QString &address);
    void setName(const QString &name);
    void setKeyEnvironmentVariable(const QString &name);
    void setKey(const QString &key); // selects "typed key"
    /// What the operator entered; valid after a successful check().
    vega::RemoteAgentOptions options() const { return m_options; }
    /// Checks the fields; false with errorText() naming the problem.
    bool check();
    QString errorText() const;

public Q_SLOTS:
    void accept() override;

private:
    QLineEdit *m_address = nullptr;
    QLineEdit *m_name = nullptr;
    QRadioButton *m_fromEnvironment = nullptr;
    QRadioButton *m_typed = nullptr;
    QLineEdit *m_variable = nullptr;
    QLineEdit *m_key = nullptr;
    QLabel *m_error = nullptr;
    vega::RemoteAgentOptions m_options;
};

} // namespace vega::ui
