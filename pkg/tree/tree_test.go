package tree

import (
	"strings"
	"testing"
	"time"
)

var (
	jan = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	jun = time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	dec = time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC)
)

func q(kv ...any) map[string]int {
	m := map[string]int{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(int)
	}
	return m
}

// building is a small BAS-IP site: a tower with two floors of apartments,
// users in two groups, a sub-user.
func building() *Tree {
	return &Tree{
		Groups: []Group{
			{Path: "tower-a", Restrict: true, Limits: Limits{Quota: q("sip-number", 50, "mobile-app", 40), Features: []string{"guest-access", "elevator"}, Until: dec}},
			{Path: "tower-a/floor-1"},
			{Path: "tower-a/floor-1/apt-1", Restrict: true, Limits: Limits{Quota: q("sip-number", 4, "mobile-app", 4)}},
			{Path: "tower-a/floor-2", Restrict: true, Limits: Limits{Quota: q("sip-number", 10, "mobile-app", 5), Features: []string{"elevator"}, Until: jun}},
		},
		Users: []User{
			{Name: "alice", Groups: []string{"tower-a/floor-1/apt-1"}, Restrict: true, Limits: Limits{Quota: q("sip-number", 2, "mobile-app", 2)}},
			{Name: "kid", CreatedBy: "alice", Restrict: true, Limits: Limits{Quota: q("sip-number", 1, "mobile-app", 1)}},
			{Name: "bob", Groups: []string{"tower-a/floor-1", "tower-a/floor-2"}},
		},
	}
}

func root() Root {
	return Root{Name: "system site", Quota: q("sip-number", 100, "mobile-app", 80), Features: []string{"guest-access", "elevator", "web-dialer"}}
}

func model(t *testing.T, tr *Tree, r Root) *Model {
	t.Helper()
	m, err := New(tr, r)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildingKeepsTheRules(t *testing.T) {
	m := model(t, building(), root())
	if err := m.Check(); err != nil {
		t.Fatal(err)
	}
}

// Each case breaks one rule and must be refused with the node, the type
// and both numbers.
func TestRules(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Tree)
		kind Kind
		says string
	}{
		{"child above what the parent has left", func(tr *Tree) {
			tr.Groups = append(tr.Groups, Group{Path: "tower-a/floor-3", Restrict: true, Limits: Limits{Quota: q("sip-number", 40)}})
		}, Quota, "group tower-a/floor-3: sip-number 40 is more than group tower-a has left: 36 of 50"},
		{"restricted children together", func(tr *Tree) {
			tr.Groups[2].Quota = q("sip-number", 45, "mobile-app", 4)
		}, Quota, "group tower-a/floor-2: sip-number 10 is more than group tower-a has left: 5 of 50"},
		{"a type the root does not fund", func(tr *Tree) {
			tr.Groups[0].Quota["virtual-number"] = 1
		}, Quota, "group tower-a: virtual-number 1 is more than system site has left: 0 of 0"},
		{"sip-number below mobile-app", func(tr *Tree) {
			tr.Groups[2].Quota = q("sip-number", 2, "mobile-app", 3)
		}, Quota, "group tower-a/floor-1/apt-1: sip-number 2 is fewer than mobile-app 3: every mobile app needs a SIP number"},
		{"sip-number below mobile-app at the root", func(tr *Tree) {}, Quota, "system site: sip-number 100 is fewer than mobile-app 120: every mobile app needs a SIP number"},
		{"features outside the parent's", func(tr *Tree) {
			tr.Groups[3].Features = []string{"web-dialer"}
		}, Quota, "group tower-a/floor-2: feature web-dialer is not among the features of group tower-a"},
		{"validity after the parent's", func(tr *Tree) {
			tr.Groups[3].Until = dec.AddDate(0, 1, 0)
		}, Validity, "group tower-a/floor-2: valid until 2028-01-01, after group tower-a ends (until 2027-12-01)"},
		{"sub-user above its creator", func(tr *Tree) {
			tr.Users[1].Quota = q("sip-number", 3, "mobile-app", 3)
		}, Quota, "user kid: mobile-app 3 is more than user alice has left: 2 of 2"},
		{"sub-user's analytics above its creator's level", func(tr *Tree) {
			tr.Groups[0].Quota["analytics-l2"], tr.Groups[0].Quota["analytics-l3"] = 2, 2
			tr.Groups[2].Quota["analytics-l2"], tr.Groups[2].Quota["analytics-l3"] = 1, 1
			tr.Users[0].Quota["analytics-l2"] = 1
			tr.Users[1].Quota["analytics-l3"] = 1
		}, Quota, "user kid: analytics-l3 1 is more than user alice has left: 0 of 0"},
		{"a user in two groups takes from both", func(tr *Tree) {
			tr.Users[2] = User{Name: "bob", Groups: []string{"tower-a/floor-1/apt-1", "tower-a/floor-2"}, Restrict: true, Limits: Limits{Quota: q("sip-number", 3)}}
		}, Quota, "user bob: sip-number 3 is more than group tower-a/floor-1/apt-1 has left: 2 of 4"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := building()
			c.edit(tr)
			r := root()
			if strings.Contains(c.name, "at the root") {
				r.Quota["mobile-app"] = 120
			}
			if strings.Contains(c.name, "analytics") {
				r.Quota["analytics-l2"], r.Quota["analytics-l3"] = 5, 5
			}
			err := model(t, tr, r).Check()
			if !IsKind(err, c.kind) || err.Error() != c.says {
				t.Fatalf("got %v (kind %v), want %q", err, err, c.says)
			}
		})
	}
}

func TestStructure(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Tree)
		says string
	}{
		{"a missing parent", func(tr *Tree) { tr.Groups = tr.Groups[2:] }, "its parent tower-a/floor-1 is not a group of the tree"},
		{"a path twice", func(tr *Tree) { tr.Groups = append(tr.Groups, tr.Groups[1]) }, "group tower-a/floor-1: listed twice"},
		{"a bad path", func(tr *Tree) { tr.Groups[1].Path = "tower-a//x" }, "empty segment"},
		{"limits without restriction", func(tr *Tree) { tr.Groups[1].Quota = q("sip-number", 1) }, "restrict is off"},
		{"a user twice", func(tr *Tree) { tr.Users = append(tr.Users, tr.Users[0]) }, "user alice: listed twice"},
		{"an unknown group", func(tr *Tree) { tr.Users[2].Groups = []string{"tower-b"} }, `"tower-b" is not a group of the tree`},
		{"an unknown creator", func(tr *Tree) { tr.Users[1].CreatedBy = "carol" }, "its creator carol is not a user"},
		{"a sub-user with groups", func(tr *Tree) { tr.Users[1].Groups = []string{"tower-a"} }, "a sub-user hangs under its creator"},
		{"a cycle of creators", func(tr *Tree) {
			tr.Users[0].Groups, tr.Users[0].CreatedBy = nil, "kid"
		}, "its creators make a cycle"},
		{"until before from", func(tr *Tree) { tr.Groups[0].From = dec }, "is not after from"},
		{"a bad reminder", func(tr *Tree) { tr.Groups[0].RemindEvery = "hourly" }, `remind_every "hourly"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := building()
			c.edit(tr)
			_, err := New(tr, root())
			if !IsKind(err, Structure) || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want a structure error saying %q", err, c.says)
			}
		})
	}
}

func TestUsage(t *testing.T) {
	m := model(t, building(), root())
	use := func(groups map[string]map[string]int64, users map[string]map[string]int64) *Usage {
		u := &Usage{Groups: map[string]*Use{}, Users: map[string]*Use{}}
		counts := func(c map[string]int64) Counts {
			var l Counts
			for t, n := range c {
				l = append(l, Count{t, n})
			}
			return l
		}
		for p, c := range groups {
			u.Groups[p] = &Use{Used: counts(c)}
		}
		for n, c := range users {
			u.Users[n] = &Use{Used: counts(c)}
		}
		return u
	}
	now := jan
	ok := use(map[string]map[string]int64{"tower-a/floor-1": {"mobile-app": 20}}, map[string]map[string]int64{"alice": {"mobile-app": 1}})
	if err := m.CheckUsage(ok, now); err != nil {
		t.Fatal(err)
	}
	// tower-a has 40 mobile apps; apt-1 took 4 and floor-2 5: 31 for the
	// rest of its pool, floor-1 and bob among them.
	over := use(map[string]map[string]int64{"tower-a/floor-1": {"mobile-app": 30}}, map[string]map[string]int64{"bob": {"mobile-app": 2}})
	if err := m.CheckUsage(over, now); !IsKind(err, Quota) || err.Error() != "group tower-a: uses 32 mobile-app, 31 available (total 40, shared 9)" {
		t.Fatalf("over: %v", err)
	}
	late := use(map[string]map[string]int64{"tower-a/floor-2": {"sip-number": 1}}, nil)
	if err := m.CheckUsage(late, jun); !IsKind(err, Validity) || !strings.Contains(err.Error(), "group tower-a/floor-2: uses 1 sip-number, but its validity ended 2027-06-01") {
		t.Fatalf("late: %v", err)
	}
	tr := building()
	tr.Users[2].Paused = true
	paused := use(nil, map[string]map[string]int64{"bob": {"sip-number": 1}})
	if err := model(t, tr, root()).CheckUsage(paused, now); !IsKind(err, Quota) || !strings.Contains(err.Error(), "user bob: is paused") {
		t.Fatalf("paused: %v", err)
	}
	if err := m.CheckUsage(use(map[string]map[string]int64{"tower-z": {"sip-number": 1}}, nil), now); !IsKind(err, Structure) {
		t.Fatalf("unknown node: %v", err)
	}
	// Used / Available / Total / Shared of tower-a.
	for _, n := range m.Report(ok, "") {
		if n.Kind == KindGroup && n.Path == "tower-a" {
			for _, l := range n.Licenses {
				if l.License == "mobile-app" && (l.Total != 40 || l.Shared != 9 || l.Used != 20 || l.Available != 11) {
					t.Errorf("tower-a mobile-app: %+v", l)
				}
			}
		}
	}
}

func TestAsk(t *testing.T) {
	m := model(t, building(), root())
	ask := func(q Question) error {
		if q.Now.IsZero() {
			q.Now = jan
		}
		_, err := m.Ask(q)
		return err
	}
	for _, c := range []struct {
		q    Question
		kind Kind
		says string
	}{
		{Question{Node: "tower-a/floor-1/apt-1", User: "alice", Feature: "guest-access", License: "mobile-app"}, 0, ""},
		{Question{Node: "tower-a/floor-1/apt-1", User: "kid", License: "mobile-app"}, 0, ""},
		{Question{Node: "tower-a/floor-1", User: "bob", Feature: "guest-access"}, Quota, "group tower-a/floor-2: does not have feature guest-access"},
		{Question{Node: "tower-a/floor-1", User: "bob", Feature: "elevator", Now: jun}, Validity, "user bob: is not valid now: the validity of group tower-a/floor-2 ended 2027-06-01"},
		{Question{Node: "tower-a/floor-2", User: "alice"}, Quota, "user alice: is not in group tower-a/floor-2"},
		{Question{Node: "tower-a", Feature: "web-dialer"}, Quota, "group tower-a: does not have feature web-dialer"},
		{Question{Node: "tower-b"}, Quota, "group tower-b: is not in the tree: nothing is licensed there"},
		{Question{Node: "tower-a/floor-1/apt-1", User: "alice", License: "mobile-app",
			Usage: &Usage{Users: map[string]*Use{"alice": {Used: Counts{{"mobile-app", 1}}}}}}, Quota, "user alice: no mobile-app left: 1 used, 0 available (total 2, shared 1)"},
		{Question{Node: "tower-a/floor-1/apt-1", License: "sip-number",
			Bounds: []Bound{{Name: "grant 1 (node tower-a/floor-1)", Path: "tower-a/floor-1", Limits: Limits{Quota: q("sip-number", 1)}}},
			Usage:  &Usage{Groups: map[string]*Use{"tower-a/floor-1": {Used: Counts{{"sip-number", 1}}}}}},
			Quota, "grant 1 (node tower-a/floor-1): no sip-number left: 1 used below tower-a/floor-1, 1 granted"},
	} {
		err := ask(c.q)
		if c.kind == 0 && err != nil || c.kind != 0 && (!IsKind(err, c.kind) || err.Error() != c.says) {
			t.Errorf("%+v: got %v, want %q", c.q, err, c.says)
		}
	}
}

func TestEdits(t *testing.T) {
	tr := building()
	if _, _, err := tr.RemoveGroup("tower-a/floor-1", false); err == nil || !strings.Contains(err.Error(), "1 group and 2 users below it") {
		t.Fatalf("remove a group with users: %v", err)
	}
	groups, users, err := tr.RemoveGroup("tower-a/floor-1", true)
	if err != nil || strings.Join(groups, " ") != "tower-a/floor-1 tower-a/floor-1/apt-1" || strings.Join(users, " ") != "alice kid" {
		t.Fatalf("removed %v %v: %v", groups, users, err)
	}
	if i := tr.UserIndex("bob"); i < 0 || strings.Join(tr.Users[i].Groups, " ") != "tower-a/floor-2" {
		t.Fatalf("bob: %+v", tr.Users)
	}
	tr = building()
	removed, err := tr.RemoveUser("alice")
	if err != nil || strings.Join(removed, " ") != "alice kid" || len(tr.Users) != 1 {
		t.Fatalf("remove alice: %v %v", removed, err)
	}
	if err := tr.AddUser(User{Name: "bob"}); err == nil {
		t.Fatal("bob added twice")
	}
}
