package wire

import (
	"io"
	"strings"
)

// The response readers are the sending side's: each reads one response body back into its
// struct, and a SOAP fault into a *Fault error.

// fault reads a SOAP 1.1 Fault (the current element) and returns it as an error.
func (d *Decoder) fault() error {
	f := &Fault{}
	for {
		ok, err := d.child()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		switch string(d.tok.local()) {
		case "faultcode":
			if f.Code, err = d.text("faultcode"); err != nil {
				return err
			}
			f.Code = strings.TrimSpace(f.Code)
		case "faultstring":
			if f.Message, _, err = d.stringField("faultstring", d.MaxTextSize); err != nil {
				return err
			}
		default:
			if err := d.skip(d.MaxTextSize); err != nil {
				return err
			}
		}
	}
	if err := d.finish(); err != nil {
		return err
	}
	return f
}

// response starts reading a response of operation.
func readResponse(r io.Reader, operation string, child func(d *Decoder, name string) error) error {
	d := NewDecoder(r)
	if _, err := d.start(false); err != nil {
		return err
	}
	return d.operationBody(operation, func(name string) error { return child(d, name) })
}

// ReadAuthenticateResponse reads an AuthenticateResponse.
func ReadAuthenticateResponse(r io.Reader) (AuthenticateResponse, error) {
	var resp AuthenticateResponse
	seen := map[string]bool{}
	err := readResponse(r, OpAuthenticate, func(d *Decoder, name string) error {
		switch name {
		case "IsSuccessful", "ErrorMessage", "SignedApplicationToken", "SupportedInterfaces",
			"SuperOfficeMirroringBuild", "ClientState", "AdditionalInformationJson":
			if seen[name] {
				return d.failf("<%s> appears twice", name)
			}
			seen[name] = true
		default:
			return d.skipElement("AuthenticateResponse")
		}
		var err error
		switch name {
		case "IsSuccessful":
			resp.IsSuccessful, err = d.boolText(name)
		case "ErrorMessage":
			resp.ErrorMessage, err = d.text(name)
		case "SignedApplicationToken":
			resp.SignedApplicationToken, err = d.text(name)
		case "SupportedInterfaces":
			resp.SupportedInterfaces, err = d.intText(name)
		case "SuperOfficeMirroringBuild":
			resp.SuperOfficeMirroringBuild, err = d.text(name)
		case "ClientState":
			resp.ClientState, _, err = d.stringField(name, d.MaxClientState)
		case "AdditionalInformationJson":
			resp.AdditionalInformationJson, err = d.text(name)
		}
		return err
	})
	return resp, err
}

// ReadTableSchemaResponse reads a TableSchemaResponse.
func ReadTableSchemaResponse(r io.Reader) (TableSchemaResponse, error) {
	var resp TableSchemaResponse
	var seenState bool
	err := readResponse(r, OpTableSchema, func(d *Decoder, name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &resp.ClientState)
		case "Tables":
			return d.children("Tables", func(name string) error {
				if name != "TableState" {
					return d.skipElement("Tables")
				}
				var t TableSchemaState
				err := d.children("TableState", func(name string) error {
					var err error
					switch name {
					case "Name":
						t.Name, err = d.text(name)
					case "Lsn":
						t.LSN, err = d.int64Text(name)
					case "SchemaChange":
						t.SchemaChange, err = d.text(name)
					default:
						err = d.skipElement("TableState")
					}
					return err
				})
				resp.Tables = append(resp.Tables, t)
				return err
			})
		}
		return d.skipElement("TableSchemaResponse")
	})
	return resp, err
}

// ReadWipeResponse reads a WipeResponse.
func ReadWipeResponse(r io.Reader) (WipeResponse, error) {
	var resp WipeResponse
	var seenState bool
	err := readResponse(r, OpWipe, func(d *Decoder, name string) error {
		if name == "ClientState" {
			return d.clientState(&seenState, &resp.ClientState)
		}
		return d.skipElement("WipeResponse")
	})
	return resp, err
}

// ReadRowDataResponse reads a RowDataResponse.
func ReadRowDataResponse(r io.Reader) (RowDataResponse, error) {
	var resp RowDataResponse
	var seenState bool
	err := readResponse(r, OpRowData, func(d *Decoder, name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &resp.ClientState)
		case "Tables":
			return d.children("Tables", func(name string) error {
				if name != "TableState" {
					return d.skipElement("Tables")
				}
				var t RowDataTableState
				err := d.children("TableState", func(name string) error {
					var err error
					switch name {
					case "Name":
						t.Name, err = d.text(name)
					case "Lsn":
						t.LSN, err = d.int64Text(name)
					case "Inserted":
						t.Inserted, err = d.int64Text(name)
					case "Updated":
						t.Updated, err = d.int64Text(name)
					case "Deleted":
						t.Deleted, err = d.int64Text(name)
					case "ErrorMessage":
						t.ErrorMessage, err = d.text(name)
					default:
						err = d.skipElement("TableState")
					}
					return err
				})
				resp.Tables = append(resp.Tables, t)
				return err
			})
		}
		return d.skipElement("RowDataResponse")
	})
	return resp, err
}

// ReadReplicationCompletedResponse reads a ReplicationCompletedResponse.
func ReadReplicationCompletedResponse(r io.Reader) (ReplicationCompletedResponse, error) {
	var resp ReplicationCompletedResponse
	var seenState bool
	err := readResponse(r, OpReplicationCompleted, func(d *Decoder, name string) error {
		switch name {
		case "ClientState":
			return d.clientState(&seenState, &resp.ClientState)
		case "Summary":
			return d.summary(&resp.Summary)
		}
		return d.skipElement("ReplicationCompletedResponse")
	})
	return resp, err
}
