package wire

import (
	"io"
	"strconv"
	"unicode/utf8"
)

const (
	envelopeOpen  = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">`
	envelopeClose = `</s:Envelope>`
	bodyOpen      = `<s:Body>`
	bodyClose     = `</s:Body>`
)

// appendEscaped appends s as XML text or attribute content: markup characters as entities, a
// carriage return as &#xD; (a parser would turn a raw one into a newline), and tab and newline
// as references too when inAttr (an attribute value turns them into spaces). A character that
// XML 1.0 cannot carry becomes U+FFFD: use needsBase64 first where the exact string matters.
func appendEscaped(dst []byte, s string, inAttr bool) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			var esc string
			switch {
			case c == '<':
				esc = "&lt;"
			case c == '>':
				esc = "&gt;"
			case c == '&':
				esc = "&amp;"
			case c == '"' && inAttr:
				esc = "&quot;"
			case c == '\r':
				esc = "&#xD;"
			case c == '\n' && inAttr:
				esc = "&#xA;"
			case c == '\t' && inAttr:
				esc = "&#x9;"
			case c < 0x20 && c != '\n' && c != '\t':
				esc = "\uFFFD"
			default:
				i++
				continue
			}
			dst = append(dst, s[last:i]...)
			dst = append(dst, esc...)
			i++
			last = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			dst = append(dst, s[last:i]...)
			dst = append(dst, "\uFFFD"...)
			i += size
			last = i
			continue
		}
		i += size
	}
	return append(dst, s[last:]...)
}

// needsBase64 reports whether a string holds characters XML 1.0 cannot carry (control
// characters other than tab, newline and carriage return; U+FFFE; U+FFFF; bytes that are not
// UTF-8, such as lone surrogates), so that it must travel as enc="base64".
func needsBase64(s string) bool {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			return true
		}
		i += size
	}
	return false
}

// xmlWriter builds a message in memory: every message but RowData's request is small.
type xmlWriter struct {
	b   []byte
	pre string // the prefix of the elements below the operation element, if they have one
}

func (w *xmlWriter) raw(s string) { w.b = append(w.b, s...) }

// tag appends <name, </name or the like: the prefix, then the name.
func (w *xmlWriter) tag(open, name string) {
	w.b = append(w.b, open...)
	w.b = append(w.b, w.pre...)
	w.b = append(w.b, name...)
}

// elem writes <name>text</name>, or <name/> for an empty text as the documented messages do.
func (w *xmlWriter) elem(name, text string) {
	w.tag("<", name)
	if text == "" {
		w.b = append(w.b, "/>"...)
		return
	}
	w.b = append(w.b, '>')
	w.b = appendEscaped(w.b, text, false)
	w.tag("</", name)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) int(name string, v int64) { w.elem(name, strconv.FormatInt(v, 10)) }

func (w *xmlWriter) bool(name string, v bool) { w.elem(name, strconv.FormatBool(v)) }

// open starts a response's envelope and the body's wrapper element.
func (w *xmlWriter) open(wrapper string) {
	w.raw(envelopeOpen + bodyOpen + "<" + wrapper + ` xmlns="` + Namespace + `">`)
}

func (w *xmlWriter) close(wrapper string, out io.Writer) error {
	w.raw("</" + wrapper + ">" + bodyClose + envelopeClose)
	_, err := out.Write(w.b)
	return err
}

// WriteFault writes a SOAP 1.1 fault. code is FaultClient or FaultServer.
func WriteFault(out io.Writer, code, message string) error {
	var w xmlWriter
	w.raw(envelopeOpen + bodyOpen + `<s:Fault><faultcode>`)
	w.b = appendEscaped(w.b, code, false)
	w.raw(`</faultcode><faultstring xml:lang="en-US">`)
	w.b = appendEscaped(w.b, message, false)
	w.raw(`</faultstring></s:Fault>` + bodyClose + envelopeClose)
	_, err := out.Write(w.b)
	return err
}

// WriteAuthenticateResponse writes the documented AuthenticateResponse, field for field.
func WriteAuthenticateResponse(out io.Writer, r AuthenticateResponse) error {
	var w xmlWriter
	w.open("AuthenticateResponse")
	w.bool("IsSuccessful", r.IsSuccessful)
	w.elem("ErrorMessage", r.ErrorMessage)
	w.elem("SignedApplicationToken", r.SignedApplicationToken)
	w.int("SupportedInterfaces", int64(r.SupportedInterfaces))
	w.elem("SuperOfficeMirroringBuild", r.SuperOfficeMirroringBuild)
	w.elem("ClientState", r.ClientState)
	w.elem("AdditionalInformationJson", r.AdditionalInformationJson)
	return w.close("AuthenticateResponse", out)
}

// WriteTableSchemaResponse writes a TableSchemaResponse.
func WriteTableSchemaResponse(out io.Writer, r TableSchemaResponse) error {
	var w xmlWriter
	w.open("TableSchemaResponse")
	w.elem("ClientState", r.ClientState)
	w.raw("<Tables>")
	for _, t := range r.Tables {
		w.raw("<TableState>")
		w.elem("Name", t.Name)
		w.int("Lsn", t.LSN)
		w.elem("SchemaChange", t.SchemaChange)
		w.raw("</TableState>")
	}
	w.raw("</Tables>")
	return w.close("TableSchemaResponse", out)
}

// WriteWipeResponse writes a WipeResponse.
func WriteWipeResponse(out io.Writer, r WipeResponse) error {
	var w xmlWriter
	w.open("WipeResponse")
	w.elem("ClientState", r.ClientState)
	return w.close("WipeResponse", out)
}

// WriteRowDataResponse writes a RowDataResponse.
func WriteRowDataResponse(out io.Writer, r RowDataResponse) error {
	var w xmlWriter
	w.open("RowDataResponse")
	w.elem("ClientState", r.ClientState)
	w.raw("<Tables>")
	for _, t := range r.Tables {
		w.raw("<TableState>")
		w.elem("Name", t.Name)
		w.int("Lsn", t.LSN)
		w.int("Inserted", t.Inserted)
		w.int("Updated", t.Updated)
		w.int("Deleted", t.Deleted)
		w.elem("ErrorMessage", t.ErrorMessage)
		w.raw("</TableState>")
	}
	w.raw("</Tables>")
	return w.close("RowDataResponse", out)
}

// WriteReplicationCompletedResponse writes a ReplicationCompletedResponse.
func WriteReplicationCompletedResponse(out io.Writer, r ReplicationCompletedResponse) error {
	var w xmlWriter
	w.open("ReplicationCompletedResponse")
	w.elem("ClientState", r.ClientState)
	w.summary(r.Summary)
	return w.close("ReplicationCompletedResponse", out)
}

// summary writes a <Summary> of <TableSummary>.
func (w *xmlWriter) summary(list []TableSummary) {
	w.raw("<Summary>")
	for _, t := range list {
		w.raw("<TableSummary>")
		w.elem("Name", t.Name)
		w.int("Inserted", t.Inserted)
		w.int("Updated", t.Updated)
		w.int("Deleted", t.Deleted)
		w.raw("</TableSummary>")
	}
	w.raw("</Summary>")
}
