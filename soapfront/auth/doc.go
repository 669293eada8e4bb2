/*
Package auth checks SuperOffice's signed tokens, signs the partner's answer, and loads and makes
the keys both need.

Every SOAP call carries a JWT that SuperOffice signed with one of its token-signing certificates.
A Verifier accepts a token only if all of these hold: the algorithm is RS256 (pinned: the token's
alg is never trusted to choose one), the signature verifies under a loaded certificate named by
the token's x5t or kid (or, without them, under one of the loaded certificates), iss is
"SuperOffice AS", aud holds "spn:<AppID>", nbf and exp enclose the verifier's clock within Skew,
and the context claim equals sub and is a valid tenant name. Every refusal wraps ErrInvalidToken
and names the check that failed, never quoting the token. The certificate set is swapped
atomically (SetCertificates), so a rotated certificate is trusted from the next call on.

The answer to Authenticate carries a SignedApplicationToken: the nonce of SuperOffice's token
with a timestamp, signed (RSA PKCS#1 v1.5 with SHA-256) with the partner's private key (SignApplicationToken), which
SuperOffice checks against the public key the partner registered. Partner keys load from
SuperOffice's .NET RSA XML or from PEM; the built-in certificates of SuperOffice's sod, stage and
production environments are EnvironmentCertificates. IssueToken and GenerateKeys make the issuer's
side for tests, demos and mirrortask: a self-signed stand-in for SuperOffice's certificate that
only a verifier told to trust it accepts.
*/
package auth
