package expr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies a lexical token.
type tokKind int

const (
	tkEOF tokKind = iota
	tkLParen
	tkRParen
	tkLBracket
	tkRBracket
	tkComma
	tkDot  // property dereference
	tkStar // object filter
	tkNot
	tkEq
	tkNe
	tkLt
	tkLe
	tkGt
	tkGe
	tkAnd
	tkOr
	tkString
	tkNumber
	tkWord // identifier, keyword, function or property name
)

// token is one lexeme with its byte span in the source.
type token struct {
	kind       tokKind
	start, end int
	text       string // the raw source slice
	str        string // unescaped value of a string literal
	num        float64
}

// SyntaxError is a lexical, syntactic or name error in an expression. Col
// is the 1-based character (not byte) position in the expression source,
// counting across line breaks, as GitHub reports "position".
type SyntaxError struct {
	// Col is the 1-based character position.
	Col int
	// Msg says what is wrong, in GitHub's words where GitHub has them.
	Msg string
}

// Error implements error.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s (column %d)", e.Msg, e.Col)
}

// column converts a byte offset of src into a 1-based character position.
func column(src string, off int) int {
	if off > len(src) {
		off = len(src)
	}
	return utf8.RuneCountInString(src[:off]) + 1
}

func syntaxErrorAt(src string, off int, format string, args ...any) *SyntaxError {
	return &SyntaxError{Col: column(src, off), Msg: fmt.Sprintf(format, args...)}
}

// isDelimiter reports the characters that end a word or number.
func isDelimiter(r rune) bool {
	return unicode.IsSpace(r) || strings.ContainsRune("()[],.!<>=&|", r)
}

// singleTokens maps the one-character tokens; other bytes map to tkEOF.
var singleTokens = [256]tokKind{'(': tkLParen, ')': tkRParen, '[': tkLBracket, ']': tkRBracket, ',': tkComma, '*': tkStar}

// lexer splits an expression into tokens following GitHub's rules.
type lexer struct {
	src  string
	pos  int
	last *token
}

func (l *lexer) peekByte(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

// run returns the end of the run starting at start that stops at white
// space or a delimiter; dots are kept when keepDots is set (numbers).
func (l *lexer) run(start int, keepDots bool) int {
	i := start
	for i < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[i:])
		if i > start && isDelimiter(r) && (!keepDots || r != '.') {
			break
		}
		if i == start && unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}

// dotStartsNumber reports whether a '.' at this point begins a number
// (like .5) rather than dereferencing the previous operand.
func (l *lexer) dotStartsNumber() bool {
	if l.last == nil {
		return true
	}
	switch l.last.kind {
	case tkLParen, tkLBracket, tkComma, tkNot, tkEq, tkNe, tkLt, tkLe, tkGt, tkGe, tkAnd, tkOr:
		return true
	}
	return false
}

func (l *lexer) unexpected(start, end int) *SyntaxError {
	return syntaxErrorAt(l.src, start, "Unexpected symbol: '%s'", l.src[start:end])
}

// next returns the next token, tkEOF at the end.
func (l *lexer) next() (*token, error) {
	for l.pos < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[l.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		l.pos += size
	}
	start := l.pos
	t := &token{start: start}
	if start >= len(l.src) {
		t.kind, t.end = tkEOF, start
		return t, nil
	}
	c := l.src[start]
	switch {
	case singleTokens[c] != tkEOF:
		t.kind, t.end = singleTokens[c], start+1
	case c == '.' && !l.dotStartsNumber():
		t.kind, t.end = tkDot, start+1
	case c == '.' || c == '-' || c == '+' || (c >= '0' && c <= '9'):
		end := l.run(start, true)
		f, ok := parseNumber(l.src[start:end])
		if !ok {
			return nil, l.unexpected(start, end)
		}
		t.kind, t.end, t.num = tkNumber, end, f
	case c == '!':
		t.kind, t.end = tkNot, start+1
		if l.peekByte(1) == '=' {
			t.kind, t.end = tkNe, start+2
		}
	case c == '<' || c == '>':
		t.kind, t.end = tkLt, start+1
		if c == '>' {
			t.kind = tkGt
		}
		if l.peekByte(1) == '=' {
			t.kind++
			t.end++
		}
	case c == '=' || c == '&' || c == '|':
		if l.peekByte(1) != c {
			return nil, l.unexpected(start, l.run(start, false))
		}
		t.kind, t.end = tkEq, start+2
		switch c {
		case '&':
			t.kind = tkAnd
		case '|':
			t.kind = tkOr
		}
	case c == '\'':
		var b strings.Builder
		i := start + 1
		for {
			j := strings.IndexByte(l.src[i:], '\'')
			if j < 0 {
				return nil, l.unexpected(start, len(l.src))
			}
			b.WriteString(l.src[i : i+j])
			i += j + 1
			if i < len(l.src) && l.src[i] == '\'' {
				b.WriteByte('\'')
				i++
				continue
			}
			break
		}
		t.kind, t.end, t.str = tkString, i, b.String()
	default:
		end := l.run(start, false)
		if !isWord(l.src[start:end]) {
			return nil, l.unexpected(start, end)
		}
		t.kind, t.end = tkWord, end
	}
	t.text = l.src[t.start:t.end]
	l.pos = t.end
	l.last = t
	return t, nil
}

// isWord checks GitHub's identifier syntax: a letter or underscore, then
// letters, digits, underscores or dashes.
func isWord(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// lex tokenizes the whole source; the last token is tkEOF.
func lex(src string) ([]*token, error) {
	l := &lexer{src: src}
	var toks []*token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tkEOF {
			return toks, nil
		}
	}
}
