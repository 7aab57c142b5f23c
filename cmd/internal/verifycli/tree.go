package verifycli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"allot.dev/allot/cmd/internal/input"
	"allot.dev/allot/pkg/grant"
	"allot.dev/allot/pkg/termtext"
	"allot.dev/allot/pkg/tree"
	"allot.dev/allot/pkg/verify"
)

// treeOptions are the flags that ask the quota tree a question.
type treeOptions struct {
	node, user, feature, license string
	grant                        string
}

// apply sets the question and the grants of opts.
func (t *treeOptions) apply(opts *verify.Options) error {
	asked := t.node != "" || t.user != "" || t.feature != "" || t.license != ""
	if asked {
		node := t.node
		if node == "/" {
			node = ""
		}
		if node != "" {
			if err := tree.ValidPath(node); err != nil {
				return &usageError{fmt.Sprintf("--node: %v", err), "a node is a group's path, tower-a/floor-3/apt-12, or / for the system"}
			}
		}
		if t.user != "" {
			if err := tree.ValidUser(t.user); err != nil {
				return &usageError{fmt.Sprintf("--user: %v", err), ""}
			}
		}
		opts.Question = &verify.Question{Node: node, User: t.user, Feature: t.feature, License: t.license}
	}
	if t.grant != "" {
		data, err := input.ReadFile(t.grant, grant.MaxChain*grant.MaxSize)
		if err != nil {
			return inputErr(err)
		}
		docs, err := grant.Split(data)
		if err != nil {
			return fmt.Errorf("%s: %w", t.grant, err)
		}
		opts.Grants = docs
	}
	return nil
}

// printFeatures prints each feature's state, as the License state panel
// shows it: on until a date, on with no limit, or off.
func printFeatures(w io.Writer, r *verify.Report) {
	var parts []string
	for _, f := range r.Features {
		switch f.State {
		case verify.FeatureOnUntil:
			parts = append(parts, f.Feature+" on until "+f.Until.Format(time.DateOnly))
		default:
			parts = append(parts, f.Feature+" "+f.State)
		}
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "  features\t%s\n", termtext.Escape(strings.Join(parts, ", ")))
	}
}

// printTree prints what the verifier found of the quota tree.
func printTree(w io.Writer, r *verify.Report) {
	t := r.Tree
	if t == nil {
		return
	}
	esc := termtext.Escape
	fmt.Fprintf(w, "  tree\t%d group%s, %d user%s\n", t.Groups, plural(t.Groups), t.Users, plural(t.Users))
	for i, g := range t.Grants {
		until := ""
		if g.Until != nil {
			until = ", until " + g.Until.Format(time.DateOnly)
		}
		fmt.Fprintf(w, "  grant %d\tnode %s to %s%s\n", i+1, esc(g.Node), esc(g.Delegate), until)
	}
	a := t.Answer
	if a == nil {
		return
	}
	node := a.Node
	if node == "" {
		node = "/"
	}
	who := "node " + node
	if a.User != "" {
		who = "user " + a.User + " at node " + node
	}
	var may []string
	if a.Feature != "" {
		may = append(may, "feature "+a.Feature)
	}
	if q := a.Quota; q != nil {
		may = append(may, fmt.Sprintf("one more %s (%d of %d available at %s)", a.License, q.Available, q.Total, q.Pool))
	}
	if len(may) == 0 {
		may = append(may, "licenses")
	}
	until := ""
	if a.Until != nil {
		until = ", until " + a.Until.Format(time.DateOnly)
	}
	fmt.Fprintf(w, "  answer\tyes: %s may use %s%s\n", esc(who), esc(strings.Join(may, " and ")), until)
}
