//! The console's local JavaScript (no node needed): web3 0.20's utilities and BigNumber, with
//! the examples of web3 0.20's and bignumber.js's documentation and EIP-55's checksum vectors as
//! the expected values; geth's pretty printing; completion; sloppy-mode globals; errors reported
//! by name and message, as geth reports them.

use veil_console::{Console, Endpoint};

/// A console on an endpoint nothing listens on: HTTP connects only when a call is made.
fn console() -> Console {
    Console::attach(&Endpoint::Http("http://127.0.0.1:1".into())).unwrap()
}

fn shows(console: &Console, source: &str, expected: &str) {
    assert_eq!(console.eval(source).as_deref(), Ok(expected), "{source}");
}

#[test]
fn web3_utilities_give_web3_020s_documented_answers() {
    let c = console();
    for (source, expected) in [
        ("web3.toWei('1', 'ether')", "\"1000000000000000000\""),
        ("web3.fromWei('21000000000000', 'finney')", "\"0.021\""),
        ("web3.toDecimal('0x15')", "21"),
        ("web3.fromDecimal('21')", "\"0x15\""),
        ("web3.fromAscii('ethereum')", "\"0x657468657265756d\""),
        (
            "web3.toUtf8('0x657468657265756d000000000000000000000000000000000000000000000000')",
            "\"ethereum\"",
        ),
        (
            "web3.sha3('Some string to be hashed')",
            "\"0xed973b234cf2238052c9ac87072c71bcf33abc1bbd721018e0cca448ef79b379\"",
        ),
        (
            "web3.toBigNumber('200000000000000000000001').toString(10)",
            "\"200000000000000000000001\"",
        ),
        ("web3.toBigNumber('200000000000000000000001').toNumber()", "2.0000000000000002e+23"),
        ("web3.isAddress('0x8888f1f195afa192cfee860698584c030f4c9db1')", "true"),
        ("web3.toWei(web3.toBigNumber(2), 'gwei') instanceof BigNumber", "true"),
    ] {
        shows(&c, source, expected);
    }
    // EIP-55's test vectors.
    for address in [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    ] {
        shows(
            &c,
            &format!("web3.toChecksumAddress('{}')", address.to_lowercase()),
            &format!("\"{address}\""),
        );
        shows(&c, &format!("web3.isChecksumAddress('{address}')"), "true");
    }
    assert!(c.eval("web3.toWei(1, 'lightyear')").unwrap_err().contains("unknown unit lightyear"));
}

#[test]
fn bignumbers_compute_and_print_as_bignumber_js_does() {
    let c = console();
    // bignumber.js's README and API examples.
    for (source, expected) in [
        ("new BigNumber(0.1).plus(0.2).toString()", "\"0.3\""),
        ("new BigNumber(1).div(3).toString()", "\"0.33333333333333333333\""),
        ("new BigNumber('1e21').toString()", "\"1e+21\""),
        ("new BigNumber('1e21').toString(10)", "\"1000000000000000000000\""),
        ("new BigNumber('123.456').toFixed(2)", "\"123.46\""),
        ("new BigNumber(255).toString(16)", "\"ff\""),
        ("new BigNumber('0xff').toNumber()", "255"),
        ("new BigNumber(-0.0000001).toString()", "\"-1e-7\""),
        ("new BigNumber(2).pow(10).minus(24).times(-1).abs().toString()", "\"1000\""),
        (
            "new BigNumber(7).mod(3).eq(1) && new BigNumber(1).lt(2) && new BigNumber(3).gte(3)",
            "true",
        ),
        ("new BigNumber('12.5').round().toString()", "\"13\""),
        ("new BigNumber('-12.5').floor().toString()", "\"-13\""),
        // Shown as a number, as geth's console shows them; equal to numbers with ==.
        ("new BigNumber('1000000000000000000000')", "1e+21"),
        ("new BigNumber(42) == 42", "true"),
    ] {
        shows(&c, source, expected);
    }
    assert!(c.eval("new BigNumber('forty')").unwrap_err().contains("not a number: forty"));
}

#[test]
fn values_print_as_geths_console_prints_them() {
    let c = console();
    shows(
        &c,
        "({b: [1, 'x'], a: {c: true}, _hidden: 1})",
        "{\n  a: {\n    c: true\n  },\n  b: [1, \"x\"]\n}",
    );
    shows(&c, "[{a: 1}, {b: null}]", "[{\n    a: 1\n}, {\n    b: null\n}]");
    shows(
        &c,
        "({f: function () {}, u: undefined, big: 12345678901234567890n})",
        "{\n  big: 12345678901234567890,\n  f: function(),\n  u: undefined\n}",
    );
    shows(
        &c,
        "({a: {b: {c: {d: {e: 1}}}}})",
        "{\n  a: {\n    b: {\n      c: {\n        d: {...}\n      }\n    }\n  }\n}",
    );
    shows(&c, "[]", "[]");
}

#[test]
fn completion_names_globals_fields_and_methods() {
    let c = console();
    assert_eq!(c.complete("pers"), ["personal"]);
    assert_eq!(c.complete("personal"), ["personal."], "a lone object match gets its dot");
    assert_eq!(c.complete("eth.getTransactionRec"), ["eth.getTransactionReceipt("]);
    assert_eq!(c.complete("x = web3.toW"), ["x = web3.toWei("]);
    assert!(c.complete("eth.getB").contains(&"eth.getBlock(".to_string()));
    assert!(
        c.complete("eth.acc").contains(&"eth.accounts".to_string()),
        "a property, without calling the node"
    );
    assert!(c.complete("__").is_empty(), "the console's natives stay hidden");
    assert!(c.complete("nothing.here").is_empty());
}

#[test]
fn scripts_run_in_sloppy_mode_and_timers_run_before_eval_returns() {
    let c = console();
    shows(&c, "undeclared = 41; undeclared + 1", "42");
    shows(
        &c,
        "var n = 0; var id = setInterval(function () { if (++n === 3) clearInterval(id); }, 10); n",
        "0",
    );
    for (source, expected) in [
        ("n", "3"),
        ("setTimeout(function (a, b) { done = a + b; }, 5, 40, 2); 'later'", "\"later\""),
        ("done", "42"),
    ] {
        shows(&c, source, expected);
    }
}

#[test]
fn errors_are_reported_by_name_and_message() {
    let c = console();
    assert_eq!(c.eval("notDefined.x"), Err("ReferenceError: notDefined is not defined".into()));
    assert_eq!(c.eval("throw 'plain'"), Err("plain".into()));
    assert!(c.eval("(1").unwrap_err().starts_with("SyntaxError: "));
    let abi =
        r#"[{"type":"function","name":"f","inputs":[{"name":"a","type":"uint8"}],"outputs":[]}]"#;
    let error = c
        .eval(&format!(
            "eth.contract({abi}).at('0x0000000000000000000000000000000000000001').f.getData(300)"
        ))
        .unwrap_err();
    assert!(error.contains("argument 300 for uint8"), "{error}");
}
