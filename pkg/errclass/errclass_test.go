package errclass

import (
	"errors"
	"io/fs"
	"testing"
)

var errClass = errors.New("class words")

func TestClassWithoutWords(t *testing.T) {
	err := New(errClass, "file %s: %s", "a.lic", "damaged")
	if err.Error() != "file a.lic: damaged" {
		t.Errorf("message %q repeats or loses words", err)
	}
	if !errors.Is(err, errClass) {
		t.Error("the class is lost")
	}
	cause := &fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}
	w := Wrap(errClass, cause)
	var pe *fs.PathError
	if w.Error() != cause.Error() || !errors.Is(w, errClass) || !errors.Is(w, fs.ErrNotExist) || !errors.As(w, &pe) {
		t.Errorf("Wrap: %q loses the message, the class or the cause", w)
	}
	if Wrap(errClass, nil) != nil {
		t.Error("Wrap(nil) is not nil")
	}
}
