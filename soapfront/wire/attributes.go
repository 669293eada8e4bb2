package wire

import "bytes"

// The attributes and namespace declarations of the current start element.

// readAttribute reads name="value" into attrBuf.
func (t *tokenizer) readAttribute() error {
	a := attr{start: len(t.attrBuf)}
	var err error
	if t.attrBuf, err = t.readName(t.attrBuf); err != nil {
		return err
	}
	a.nameEnd = len(t.attrBuf)
	if i := bytes.IndexByte(t.attrBuf[a.start:a.nameEnd], ':'); i >= 0 {
		a.hasPrefix, a.prefixEnd = true, a.start+i
	}
	t.rb.skipSpace()
	if c, ok := t.rb.readByte(); !ok || c != '=' {
		return t.errorf("attribute %s has no value", t.attrBuf[a.start:a.nameEnd])
	}
	t.rb.skipSpace()
	quote, ok := t.rb.readByte()
	if !ok || quote != '"' && quote != '\'' {
		return t.errorf("attribute %s: value is not quoted", t.attrBuf[a.start:a.nameEnd])
	}
	if t.attrBuf, err = t.readValue(t.attrBuf, quote, MaxFieldSize); err != nil {
		return err
	}
	a.valueEnd = len(t.attrBuf)
	if name := t.attrName(a); t.seen(name) {
		return t.errorf("attribute %s appears twice in <%s>", name, t.rawName())
	}
	t.attrs = append(t.attrs, a)
	return nil
}

// seen reports whether the current element already has an attribute of this name, and
// otherwise remembers it, in time linear in the number of attributes.
func (t *tokenizer) seen(name []byte) bool {
	if len(t.attrs) < smallAttributes {
		for _, b := range t.attrs {
			if bytes.Equal(t.attrName(b), name) {
				return true
			}
		}
		return false
	}
	if len(t.attrs) == smallAttributes {
		if t.attrSet == nil {
			t.attrSet = make(map[string]struct{}, MaxAttributes)
		}
		clear(t.attrSet)
		for _, b := range t.attrs {
			t.attrSet[string(t.attrName(b))] = struct{}{}
		}
	}
	if _, ok := t.attrSet[string(name)]; ok {
		return true
	}
	t.attrSet[string(name)] = struct{}{}
	return false
}

// attrCount is the number of attributes of the current start element, namespace declarations
// included.
func (t *tokenizer) attrCount() int { return len(t.attrs) }

// attrAt returns attribute i of the current start element: its local name, its namespace (""
// when it has no prefix), its value, and whether it declares a namespace rather than being an
// attribute. A prefix that is not declared is an error, as it is on an element.
func (t *tokenizer) attrAt(i int) (local []byte, space string, value []byte, decl bool, err error) {
	a := t.attrs[i]
	prefix, local := t.attrLocal(a)
	value = t.attrValue(a)
	switch {
	case !a.hasPrefix:
		return local, "", value, string(local) == "xmlns", nil
	case string(prefix) == "xmlns":
		return local, "", value, true, nil
	}
	space, err = t.resolve(prefix, false)
	return local, space, value, false, err
}

func (t *tokenizer) attrName(a attr) []byte  { return t.attrBuf[a.start:a.nameEnd] }
func (t *tokenizer) attrValue(a attr) []byte { return t.attrBuf[a.nameEnd:a.valueEnd] }

// attrLocal returns the local part of an attribute name and its prefix.
func (t *tokenizer) attrLocal(a attr) (prefix, local []byte) {
	if a.hasPrefix {
		return t.attrBuf[a.start:a.prefixEnd], t.attrBuf[a.prefixEnd+1 : a.nameEnd]
	}
	return nil, t.attrBuf[a.start:a.nameEnd]
}

// findAttr returns the value of the unprefixed attribute name, or of name in namespace space.
func (t *tokenizer) findAttr(name, space string) ([]byte, bool) {
	for _, a := range t.attrs {
		prefix, local := t.attrLocal(a)
		if string(local) != name {
			continue
		}
		if !a.hasPrefix {
			return t.attrValue(a), true
		}
		if space != "" {
			if uri, err := t.resolve(prefix, false); err == nil && uri == space {
				return t.attrValue(a), true
			}
		}
	}
	return nil, false
}

// declareNamespaces pushes the xmlns attributes of the current start tag.
func (t *tokenizer) declareNamespaces() error {
	for _, a := range t.attrs {
		prefix, local := t.attrLocal(a)
		var p []byte
		switch {
		case !a.hasPrefix && string(local) == "xmlns":
		case a.hasPrefix && string(prefix) == "xmlns":
			p = local
			if len(t.attrValue(a)) == 0 {
				return t.errorf("namespace prefix %s is bound to an empty URI", p)
			}
		default:
			continue
		}
		if len(t.ns) == MaxNamespaces {
			return t.errorf("more than %d namespace declarations are in scope at <%s>, the most the decoder keeps", MaxNamespaces, t.rawName())
		}
		uri := t.attrValue(a)
		// Reuse the strings of an equal binding so that a sender that repeats its declarations
		// on every element costs no allocation.
		b := nsBinding{depth: t.level}
		for i := len(t.ns) - 1; i >= 0; i-- {
			if t.ns[i].prefix == string(p) {
				b.prefix = t.ns[i].prefix
				if t.ns[i].uri == string(uri) {
					b.uri = t.ns[i].uri
				}
				break
			}
		}
		if b.prefix == "" && len(p) > 0 {
			b.prefix = string(p)
		}
		if b.uri == "" && len(uri) > 0 {
			b.uri = internURI(uri)
		}
		t.ns = append(t.ns, b)
		t.nsGen++
	}
	return nil
}

// internURI returns the namespaces the contract uses without allocating.
func internURI(uri []byte) string {
	switch string(uri) {
	case Namespace:
		return Namespace
	case soapNS:
		return soapNS
	case xsiNS:
		return xsiNS
	}
	return string(uri)
}

// resolve returns the namespace of a prefix; an empty prefix is the default namespace of an
// element and no namespace for an attribute.
func (t *tokenizer) resolve(prefix []byte, element bool) (string, error) {
	if len(prefix) == 0 && !element {
		return "", nil
	}
	if string(prefix) == "xml" {
		return xmlNS, nil
	}
	for i := len(t.ns) - 1; i >= 0; i-- {
		if t.ns[i].prefix == string(prefix) {
			return t.ns[i].uri, nil
		}
	}
	if len(prefix) == 0 {
		return "", nil
	}
	return "", t.errorf("namespace prefix %s is not declared", prefix)
}
