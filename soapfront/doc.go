/*
Package soapfront is the HTTP front end of mirrord: it serves the five SOAP operations of the
mirroring contract, checks each call's token, and hands decoded requests to the engine.

A Server answers POSTs on one path (Config.Path, /mirroring by default) and the WSDL on GET
<path>?wsdl. Each call goes through the same steps: the transport checks (method, an XML
Content-Type in UTF-8, gzip or deflate bodies, Config.MaxBody counted on the wire and again
after decompression), the SOAP header's token checked by an auth.Verifier before any of the
body is decoded, then the operation, streamed from the body by package wire into the engine.
Only Authenticate answers a refused token in its own answer (IsSuccessful false); every other
operation answers it with an s:Client fault.

What a caller is answered says what happened, and nothing more:
  - a fault is s:Client when the request was at fault (a bad token, a body the wire refuses, a
    body that stalls past Config.BodyProgress or outlasts Config.ReadTimeout) and s:Server when
    mirrord or the database was; a server fault's text names no address, login or path, only
    the call id under which the log line has the whole error;
  - a RowData call whose decoding fails writes nothing; one whose table the database refuses
    rolls that table back alone and says why in its ErrorMessage, with the table's LSN as the
    mirror has it;
  - while the Server drains (Shutdown) new calls get 503, and calls in flight finish or roll back.

Each finished call writes one log line (never the token), counts in Metrics, and is told to
Config.Observer when its caller was a verified tenant. With Config.CaptureDir, a request the wire
refuses is kept, its token redacted, so that a shape SuperOffice sends and mirrord does not read
can be seen; elements the decoder skipped are counted per name.
*/
package soapfront
