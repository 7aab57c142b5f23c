package verify_test

import (
	"strings"
	"testing"

	"allot.dev/allot/pkg/verify"
)

// Face recognition counts users beside its cameras; no other analytics
// type has users, and the count is bounded like every other.
func TestUsageUsers(t *testing.T) {
	const head = "version = 1\nsystem = \"site-42\"\n\n[[analytics]]\n"
	u, err := verify.ParseUsage("u.toml", []byte(head+"type = \"face-recognition\"\ncameras = 2\nusers = 40\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := u.Analytics[0]; a.Type != verify.FaceRecognition || a.Cameras != 2 || a.Users != 40 {
		t.Fatalf("got %+v", a)
	}
	for _, c := range []struct{ body, want string }{
		{"type = \"line-crossing\"\ncameras = 2\nusers = 1\n", "u.toml:7: analytics[1].users: users are counted for face-recognition only, not for line-crossing"},
		{"type = \"face-recognition\"\nusers = -1\n", "u.toml:6: analytics[1].users: -1 is not a count between 0 and 100000000"},
		{"type = \"face-recognition\"\nusers = 100000001\n", "u.toml:6: analytics[1].users: 100000001 is not a count"},
		{"type = \"face-recognition\"\nuser = 1\n", "analytics.user: unknown field"},
	} {
		_, err := verify.ParseUsage("u.toml", []byte(head+c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: got %v, want %q", c.body, err, c.want)
		}
	}
}
