package verify

import (
	"encoding/binary"

	"allot.dev/allot/pkg/cert"
	"allot.dev/allot/pkg/sign"
)

// certSet is what the certificates of a bundle establish whatever the
// bundle: the pool of their chains, every chain found and verified, or
// the failure of the bound on certificates per signer.
type certSet struct {
	pool *cert.Pool // prepared: read by many goroutines at once
	err  error
}

// certPool returns the pool of a bundle's certificates, as parseCert
// parsed them (certs; errs where a document did not parse), with every
// chain found; or the first failure in their order: a certificate that
// does not parse, or more than MaxCertificatesPerSigner of one signer.
//
// What it finds depends only on the certificates, in their order, and on
// the trust, which are the verifier's: so a verifier finds it once for all
// the bundles that carry the same certificates. A certificate is known by
// the number parseCert gave it, one number for one document's exact bytes.
// The keys are still authorized one by one against the pool, for every
// bundle: signature, scope and revocations.
func (v *Verifier) certPool(certs []*cert.Certificate, errs []error, fail func(format string, args ...any) error) (*cert.Pool, error) {
	key, ok := v.certsKey(certs, errs)
	if ok {
		v.mu.Lock()
		set, hit := v.pools[key]
		v.mu.Unlock()
		if hit {
			return set.pool, set.err
		}
	}
	set := &certSet{}
	perSigner := map[sign.KeyID]int{}
	for i, err := range errs {
		if err != nil {
			return nil, fail("certificate[%d]: %v", i+1, err)
		}
		// A key is tried against every chain of its signer: many
		// certificates of one signer would multiply the work by the keys.
		id := sign.IDOf(certs[i].Subject.Key)
		if perSigner[id]++; perSigner[id] > MaxCertificatesPerSigner {
			set.err = fail("certificate[%d]: more than %d certificates for signer %s", i+1, MaxCertificatesPerSigner, id)
			break
		}
	}
	if set.err == nil {
		set.pool = cert.NewPool(&v.opts.Trust.Trust)
		set.pool.Add(certs...)
		set.pool.Prepare()
	}
	if ok {
		v.mu.Lock()
		if v.pools == nil {
			v.pools = map[string]*certSet{}
		}
		v.pools[key] = set
		v.mu.Unlock()
	}
	return set.pool, set.err
}

// certsKey returns the numbers of certs, in order, as a map key; ok is
// false if one did not parse or has no number (two goroutines parsed one
// document at once, and the other's is kept).
func (v *Verifier) certsKey(certs []*cert.Certificate, errs []error) (key string, ok bool) {
	b := make([]byte, 0, 4*len(certs))
	v.mu.Lock()
	defer v.mu.Unlock()
	for i, c := range certs {
		n, found := v.certNum[c]
		if errs[i] != nil || !found {
			return "", false
		}
		b = binary.BigEndian.AppendUint32(b, n)
	}
	return string(b), true
}
