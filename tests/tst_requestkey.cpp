#include "requestkey.h"

#include <QtTest>

using namespace vega;

namespace {
QByteArray keyOf(const QString &url, const HeaderList &headers = {}, const QByteArray &body = {},
                 const QByteArray &method = QByteArrayLiteral("GET"), const QList<QByteArray> &vary = {})
{
    return requestKey(method, QUrl(url), body, headers, vary);
}

HeaderList header(const QByteArray &name, const QByteArray &value)
{
    return {qMakePair(name, value)};
}
} // namespace

class TestRequestKey : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void normalisation_data()
    {
        QTest::addColumn<QString>("url");
        QTest::addColumn<QString>("normalized");

        QTest::newRow("scheme and host case") << "HTTP://Example.COM/a"
                                              << "http://example.com/a";
        QTest::newRow("path case kept") << "http://example.com/A/b"
                                        << "http://example.com/A/b";
        QTest::newRow("default http port") << "http://example.com:80/a"
                                           << "http://example.com/a";
        QTest::newRow("default https port") << "https://example.com:443/"
                                            << "https://example.com/";
        QTest::newRow("other port kept") << "http://example.com:8080/"
                                         << "http://example.com:8080/";
        QTest::newRow("https on 80 kept") << "https://example.com:80/"
                                          << "https://example.com:80/";
        QTest::newRow("empty path") << "http://example.com"
                                    << "http://example.com/";
        QTest::newRow("dot segments") << "http://example.com/a/./b/../c"
                                      << "http://example.com/a/c";
        QTest::newRow("trailing dot-dot") << "http://example.com/a/b/.."
                                          << "http://example.com/a/";
        QTest::newRow("trailing dot") << "http://example.com/a/."
                                      << "http://example.com/a/";
        QTest::newRow("dot-dot above root") << "http://example.com/../../x"
                                            << "http://example.com/x";
        QTest::newRow("dot in a name kept") << "http://example.com/.well-known/a.json"
                                            << "http://example.com/.well-known/a.json";
        QTest::newRow("dots inside a segment kept") << "http://example.com/a/..b/c./.d"
                                                    << "http://example.com/a/..b/c./.d";
        QTest::newRow("double slash kept") << "http://example.com/a//b"
                                           << "http://example.com/a//b";
        QTest::newRow("query sorted by key") << "http://example.com/?b=2&a=1&c=3"
                                             << "http://example.com/?a=1&b=2&c=3";
        QTest::newRow("repeated key keeps order") << "http://example.com/?b=1&a=2&a=1"
                                                  << "http://example.com/?a=2&a=1&b=1";
        QTest::newRow("keys without values") << "http://example.com/?b&a"
                                             << "http://example.com/?a&b";
        QTest::newRow("encoded ampersand stays in its value") << "http://example.com/?z=1&q=a%26b"
                                                              << "http://example.com/?q=a%26b&z=1";
        QTest::newRow("empty query dropped") << "http://example.com/x?"
                                             << "http://example.com/x";
        QTest::newRow("fragment dropped") << "http://example.com/a?x=1#frag"
                                          << "http://example.com/a?x=1";
        QTest::newRow("unreserved decoded") << "http://example.com/%7Euser?a=%41"
                                            << "http://example.com/~user?a=A";
        QTest::newRow("reserved stays encoded") << "http://example.com/a%2fb"
                                                << "http://example.com/a%2Fb";
        QTest::newRow("non-ASCII encoded") << QString::fromUtf8("http://example.com/\xc3\x84?x=\xc3\xbc")
                                           << "http://example.com/%C3%84?x=%C3%BC";
        QTest::newRow("user info dropped") << "http://user:secret@example.com/x"
                                           << "http://example.com/x";
    }

    void normalisation()
    {
        QFETCH(QString, url);
        QFETCH(QString, normalized);
        QCOMPARE(QString::fromLatin1(normalizedUrlBytes(QUrl(url))), normalized);
        QCOMPARE(normalizeUrl(QUrl(url)).toString(QUrl::FullyEncoded), normalized);
        const QByteArray key = keyOf(url);
        QCOMPARE(key.left(key.contains('\n') ? key.indexOf('\n') : key.size()),
                 "GET " + normalized.toLatin1());
    }

    void distinctRequestsGetDistinctKeys_data()
    {
        QTest::addColumn<QString>("a");
        QTest::addColumn<QString>("b");
        QTest::newRow("path case") << "http://h/a"
                                   << "http://h/A";
        QTest::newRow("scheme") << "http://h/"
                                << "https://h/";
        QTest::newRow("port") << "http://h/"
                              << "http://h:8080/";
        QTest::newRow("plus is not an encoded plus") << "http://h/?q=a+b"
                                                     << "http://h/?q=a%2Bb";
        QTest::newRow("encoded ampersand is not a separator") << "http://h/?q=a%26b"
                                                              << "http://h/?q=a&b";
        QTest::newRow("order of a repeated key") << "http://h/?a=1&a=2"
                                                 << "http://h/?a=2&a=1";
        QTest::newRow("trailing slash") << "http://h/a"
                                        << "http://h/a/";
    }

    void distinctRequestsGetDistinctKeys()
    {
        QFETCH(QString, a);
        QFETCH(QString, b);
        QVERIFY(keyOf(a) != keyOf(b));
    }

    void methodIsPartOfTheKeyInUpperCase()
    {
        QCOMPARE(keyOf(QStringLiteral("http://h/x"), {}, {}, "get"), QByteArray("GET http://h/x"));
        QVERIFY(keyOf(QStringLiteral("http://h/x"), {}, {}, "HEAD") != keyOf(QStringLiteral("http://h/x")));
    }

    void bodyIsHashed()
    {
        const QString url = QStringLiteral("http://h/orders");
        const QByteArray a = keyOf(url, {}, "{\"item\":1}", "POST");
        QCOMPARE(a, keyOf(url, {}, "{\"item\":1}", "POST"));
        QVERIFY(a != keyOf(url, {}, "{\"item\":2}", "POST"));
        QVERIFY(a != keyOf(url, {}, {}, "POST"));
        QVERIFY(a.startsWith("POST http://h/orders\n#body="));
        QCOMPARE(a.size(), QByteArray("POST http://h/orders\n#body=").size() + 32);
        QVERIFY(!a.contains("item"));
        QCOMPARE(displayKey(a), QStringLiteral("POST http://h/orders (with body)"));
    }

    void authorizationAndCookieSeparateCallers()
    {
        const QString url = QStringLiteral("http://h/me");
        const QByteArray anonymous = keyOf(url);
        const QByteArray alice = keyOf(url, header("Authorization", "Bearer alice"));
        const QByteArray bob = keyOf(url, header("Authorization", "Bearer bob"));
        QVERIFY(alice != anonymous);
        QVERIFY(alice != bob);
        QCOMPARE(alice, keyOf(url, header("authorization", "Bearer alice"))); // names are case-insensitive
        QVERIFY(alice.startsWith("GET http://h/me\n#vary=")); // invalidation by URL prefix still works
        const QByteArray cookieA = keyOf(url, header("Cookie", "session=a"));
        QVERIFY(cookieA != anonymous);
        QVERIFY(cookieA != keyOf(url, header("Cookie", "session=b")));
        QVERIFY(cookieA != keyOf(url, header("Authorization", "session=a"))); // the header name counts too
        // Other headers do not change the key unless asked to.
        QCOMPARE(keyOf(url, header("Accept-Language", "fr")), anonymous);
        const QList<QByteArray> vary{QByteArrayLiteral("Accept-Language")};
        QVERIFY(keyOf(url, header("Accept-Language", "fr"), {}, "GET", vary) !=
                keyOf(url, header("Accept-Language", "de"), {}, "GET", vary));
        QCOMPARE(keyOf(url, {}, {}, "GET", vary), anonymous);
    }

    void secretsNeverAppear()
    {
        const QByteArray token = "s3cr3t-T0ken";
        const QList<QByteArray> keys{
            keyOf(QStringLiteral("http://h/me?x=1"), header("Authorization", "Bearer " + token)),
            keyOf(QStringLiteral("http://h/me"), header("Cookie", "session=" + token)),
            keyOf(QStringLiteral("http://user:") + QString::fromLatin1(token) + QStringLiteral("@h/me")),
            keyOf(QStringLiteral("http://h/me"), header("X-Api-Key", token), {}, "GET",
                  {QByteArrayLiteral("X-Api-Key")}),
        };
        for (const QByteArray &key : keys) {
            QVERIFY2(!key.contains(token), key);
            QVERIFY2(!key.contains("s3cr3t"), key);
            QVERIFY(!displayKey(key).contains(QString::fromLatin1(token)));
            QVERIFY(displayKey(key).endsWith(QStringLiteral(" (per caller)")));
        }
        // User info separates callers like Authorization does.
        QVERIFY(keys.at(2) != keyOf(QStringLiteral("http://user:other@h/me")));
        QVERIFY(keys.at(2) != keyOf(QStringLiteral("http://h/me")));
    }

    void displayKeyHidesQueryValues()
    {
        const QByteArray key = keyOf(QStringLiteral("http://h/search?token=abc123&q=shoes"));
        const QString shown = displayKey(key);
        QCOMPARE(shown, QString::fromUtf8("GET http://h/search?q=\xe2\x80\xa6&token=\xe2\x80\xa6"));
        QVERIFY(!shown.contains(QStringLiteral("abc123")));
        QCOMPARE(displayKey(keyOf(QStringLiteral("http://h:8080/a/b"))),
                 QStringLiteral("GET http://h:8080/a/b"));
    }

    void headerLookupIsCaseInsensitive()
    {
        const HeaderList h{{"Content-Type", "text/plain"}, {"X-A", "1"}, {"x-a", "2"}};
        QCOMPARE(headerValue(h, "content-type"), QByteArray("text/plain"));
        QCOMPARE(headerValue(h, "X-A"), QByteArray("1")); // the first match
        QVERIFY(headerValue(h, "missing").isEmpty());
    }
};

QTEST_GUILESS_MAIN(TestRequestKey)
#include "tst_requestkey.moc"
