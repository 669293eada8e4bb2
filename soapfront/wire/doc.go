// Package wire is the mirroring contract on the wire, in one place: the WSDL that mirrord
// serves and a hand-written, streaming SOAP 1.1 codec for the contract's five operations.
//
// A Decoder reads one request body in two steps. Start reads the envelope up to the body's
// first element and returns the SignedToken and the operation, so that the caller can check
// the token before it reads further; then the operation's method (Authenticate, TableSchema,
// Wipe, RowData, ReplicationCompleted) reads the rest, through the end of the body. RowData
// hands each batch and row to a RowSink as it is decoded, so a request of any size is read
// through one fixed buffer and a few reused ones: memory is bounded by the read buffer and
// the Decoder's limits, never by the body. Errors keep their class: a body that is malformed,
// hostile or breaks the contract is a *Error (the caller's mistake, a s:Client fault) naming
// the operation, table, row, column and byte offset it can; an error of the body's reader
// passes through unchanged; an error of the sink comes back wrapped with its place, keeping
// its own class. The decoder refuses DTDs and every entity but XML's five, and bounds depth,
// attributes, and the size of every text, name and attribute value; it is tolerant where XML
// allows freedom (namespace prefixes, whitespace, comments, CDATA, an XML declaration, a BOM).
// It is forgiving where a sender's shape may differ from the contract, as WCF is: the operation
// element must be in the contract's namespace, but below it elements are matched by local name
// whatever their namespace; elements and attributes the contract does not have are skipped
// (except inside <Row>, whose values are positional, and, in a RowData request, an element
// holding a <Row> or <V>, whose rows skipping would lose) and reported through Decoder.OnSkip;
// nil="true" and xsi:nil="true" both mean NULL. It never stretches that to reading a lost
// element as "nothing": an element a request needs still faults when it is missing or nil.
//
// The writers produce what mirrord answers (responses and faults) and, for the sending side
// (mirrortask, tests, load tools), the requests: in the contract's own shape, or through a
// Variant in shapes a WCF client might send instead, to prove the decoder reads those too. The
// Read*Response functions read responses back. A Decoder serves one body and is not safe for concurrent use; everything else is.
package wire
