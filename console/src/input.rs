//! When a REPL line is not finished yet: brackets left open outside strings, template
//! literals and comments (as geth's console counts indents), so a function typed over several
//! lines is evaluated once its closing brace arrives.

/// Whether `source` needs more lines: a `(`, `[` or `{` still open, or a template literal or
/// block comment not closed. More closing than opening brackets is complete (and wrong: the
/// engine says so).
pub(crate) fn incomplete(source: &str) -> bool {
    let mut depth = 0;
    let mut unterminated = false;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            '"' | '\'' | '`' => {
                // To the closing quote; a template literal may span lines.
                unterminated = c == '`';
                while let Some(s) = chars.next() {
                    match s {
                        '\\' => {
                            chars.next();
                        }
                        '\n' if c != '`' => break,
                        s if s == c => {
                            unterminated = false;
                            break;
                        }
                        _ => {}
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for s in chars.by_ref() {
                    if s == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut star = false;
                unterminated = true;
                for s in chars.by_ref() {
                    if star && s == '/' {
                        unterminated = false;
                        break;
                    }
                    star = s == '*';
                }
            }
            _ => {}
        }
    }
    depth > 0 || unterminated
}

#[cfg(test)]
mod tests {
    use super::incomplete;

    #[test]
    fn brackets_left_open_need_more_lines() {
        assert!(!incomplete("eth.blockNumber"));
        assert!(incomplete("function add(a, b) {"));
        assert!(incomplete("function add(a, b) {\n  return [a, b\n"));
        assert!(!incomplete("function add(a, b) {\n  return a + b;\n}"));
        assert!(!incomplete("})"), "too many closing brackets is for the engine to report");
    }

    #[test]
    fn brackets_in_strings_and_comments_do_not_count() {
        assert!(!incomplete(r#"console.log("{[(", '(', "\"{")"#));
        assert!(!incomplete("var s = `${a} {`; // {\n"));
        assert!(incomplete("x(/* ( */ 1"));
        assert!(incomplete("var t = `line {\nstill"), "inside the template literal");
        assert!(incomplete("1 /* a comment"), "inside the block comment");
    }
}
