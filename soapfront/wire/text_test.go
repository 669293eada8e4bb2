package wire

import (
	"strings"
	"testing"
	"testing/iotest"
)

// TestReferences decodes references through the stream (the general path) and from memory
// (the fast path): the two must agree on every reference, the fast path giving up on exactly
// those the stream refuses.
func TestReferences(t *testing.T) {
	cases := []struct {
		ref, want, err string
	}{
		{"&lt;", "<", ""},
		{"&gt;", ">", ""},
		{"&amp;", "&", ""},
		{"&apos;", "'", ""},
		{"&quot;", `"`, ""},
		{"&#65;", "A", ""},
		{"&#x41;", "A", ""},
		{"&#x0000000041;", "A", ""},
		{"&#xD;", "\r", ""},
		{"&#x1F600;", "😀", ""},
		{"&#x10FFFF;", "\U0010FFFF", ""},
		{"&#x110000;", "", "beyond U+10FFFF"},
		{"&#99999999999;", "", "beyond U+10FFFF"},
		{"&#0;", "", "U+0000, which XML does not allow"},
		{"&#xD800;", "", "U+D800"},
		{"&#xFFFE;", "", "U+FFFE"},
		{"&#X41;", "", "not a number"},
		{"&#x;", "", "not a number"},
		{"&#-1;", "", "not a number"},
		{"&#;", "", "entity &#; is not allowed"},
		{"&;", "", "entity &; is not allowed"},
		{"&nbsp;", "", "entity &nbsp; is not allowed"},
		{"&#x00000000041;", "", "too long or has no ;"},
	}
	for _, c := range cases {
		body := rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>a` + c.ref + `b</V></Row>`))
		d := NewDecoder(iotest.OneByteReader(strings.NewReader(body)))
		sink := newTestSink(contactTable)
		_, err := d.Start()
		if err == nil {
			_, err = d.RowData(sink)
		}
		fast, size := appendReference(nil, []byte(c.ref+"b"))
		switch {
		case c.err != "":
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: stream error %v, want one saying %q", c.ref, err, c.err)
			}
			if size != 0 {
				t.Errorf("%s: the fast path took %q", c.ref, fast)
			}
		case err != nil:
			t.Errorf("%s: %v", c.ref, err)
		default:
			if got := sink.batches[0].rows[0][1]; got != "a"+c.want+"b" {
				t.Errorf("%s: stream read %q", c.ref, got)
			}
			if string(fast) != c.want || size != len(c.ref) {
				t.Errorf("%s: fast path read %q in %d bytes", c.ref, fast, size)
			}
		}
	}
}

func TestEndsMidRune(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"", false},
		{"abc", false},
		{"é", false},
		{"a€", false},
		{"😀", false},
		{"\xC3", true},
		{"a\xE2\x82", true},
		{"\xF0\x9F\x98", true},
		{"é\xF0", true},
		{"\xA9", false}, // a stray continuation byte: the check of the joined text refuses it
		{"a\xff", false},
	} {
		if got := endsMidRune([]byte(c.text)); got != c.want {
			t.Errorf("endsMidRune(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

// TestWholeCharactersAroundMarkup: characters next to comments, processing instructions and
// CDATA sections join as they were written, while a character cut by them is refused (TestHostileBodies).
func TestWholeCharactersAroundMarkup(t *testing.T) {
	sink, err := decodeRowData(rowDataBody(contactBatch(`<Row op="I"><V>1</V><V>é<!--x-->€<![CDATA[😀]]>ø<?pi x?>å</V></Row>`)), 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := sink.batches[0].rows[0][1]; got != "é€😀øå" {
		t.Errorf("value %q, want %q", got, "é€😀øå")
	}
}
