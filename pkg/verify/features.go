package verify

import (
	"slices"
	"time"

	"allot.dev/allot/pkg/bundle"
)

// Feature states, as the seed's License state panel shows them.
const (
	// FeatureOn is a feature on with no time limit: a perpetual license,
	// which no bundle of this version carries.
	FeatureOn = "on"
	// FeatureOnUntil is a feature on now, until a date.
	FeatureOnUntil = "on-until"
	// FeatureOff is a feature of the bundle's products not granted now.
	FeatureOff = "off"
)

// FeatureState is one feature of the bundle's products and its state now.
type FeatureState struct {
	Feature string     `json:"feature"`
	State   string     `json:"state"`
	Until   *time.Time `json:"until,omitempty"` // on-until: when it ends
}

// featureStates returns the state of every feature of the products of the
// bundle's keys, and of every feature the bundle names, sorted: on until
// the end of the run of periods from the one in force that grant it (the
// grace's end if the run reaches the last period), or off.
func (v *Verifier) featureStates(r *Report, b *bundle.Bundle, now time.Time) []FeatureState {
	names := slices.Clone(b.Features)
	for _, k := range r.Keys {
		if p, err := v.catalog().Product(k.Product); err == nil {
			names = append(names, p.Features...)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	cur := -1
	for i, p := range b.Periods {
		if !now.Before(p.From) && now.Before(p.Until) {
			cur = i
		}
	}
	if cur < 0 && !now.Before(b.Validity.Until) && now.Before(b.Validity.GraceUntil) {
		cur = len(b.Periods) - 1
	}
	out := make([]FeatureState, 0, len(names))
	for _, f := range names {
		st := FeatureState{Feature: f, State: FeatureOff}
		if cur >= 0 && cur < len(r.periodFeatures) && slices.Contains(r.periodFeatures[cur], f) {
			last := cur
			for last+1 < len(b.Periods) && slices.Contains(r.periodFeatures[last+1], f) {
				last++
			}
			until := b.Periods[last].Until
			if last == len(b.Periods)-1 {
				until = b.Validity.GraceUntil
			}
			st.State, st.Until = FeatureOnUntil, &until
		}
		out = append(out, st)
	}
	return out
}
