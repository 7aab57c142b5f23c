package catalog

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Reminder is when `allot remind` speaks of something that ends: from Days
// before its end, and then again Every ("once", "daily", "weekly" or
// "30d") until it ends. A catalog gives one per kind of thing that ends
// ([reminders] of the file); a group of a system file may carry its own.
type Reminder struct {
	Days  int    `toml:"days" json:"days"`
	Every string `toml:"every" json:"every"`
}

// MaxReminderDays bounds Reminder.Days: ten years, as far ahead as any
// end allot knows (a key's redemption window is five).
const MaxReminderDays = 3650

// DefaultReminder applies to a kind the catalog's [reminders] leaves out.
var DefaultReminder = Reminder{Days: 30, Every: "weekly"}

// ReminderKinds returns the kinds of things that end, which [reminders]
// may name: a subscription, the grace period after it, a group's validity
// window, and unallocated licenses in a wallet.
func ReminderKinds() []string { return []string{"subscription", "grace", "group", "key-expiry"} }

// everyWords are the words of Reminder.Every and the days between two
// reminders each means; 0 is once.
var everyWords = [...]struct {
	word string
	days int
}{{"once", 0}, {"daily", 1}, {"weekly", 7}, {"30d", 30}}

// ReminderInterval returns the days between two reminders that every
// means (0 for "once"), and whether every is one of the words.
func ReminderInterval(every string) (days int, ok bool) {
	for _, e := range everyWords {
		if e.word == every {
			return e.days, true
		}
	}
	return 0, false
}

// Validate checks that Days lies in 1 to MaxReminderDays and that Every is
// one of the words. The error starts with the field at fault.
func (r Reminder) Validate() error {
	if r.Days < 1 || r.Days > MaxReminderDays {
		return fmt.Errorf("days: %d is not between 1 and %d", r.Days, MaxReminderDays)
	}
	if _, ok := ReminderInterval(r.Every); !ok {
		words := make([]string, len(everyWords))
		for i, e := range everyWords {
			words[i] = e.word
		}
		return fmt.Errorf("every: %q is not %s", r.Every, strings.Join(words, ", "))
	}
	return nil
}

// Reminder returns when to remind of a kind of thing that ends: the
// catalog's [reminders] entry, or DefaultReminder.
func (c *Catalog) Reminder(kind string) Reminder {
	if r, ok := c.Reminders[kind]; ok {
		return r
	}
	return DefaultReminder
}

func (c *Catalog) validateReminders() error {
	for _, kind := range slices.Sorted(maps.Keys(c.Reminders)) {
		if !slices.Contains(ReminderKinds(), kind) {
			return ferr("reminders."+kind, "unknown; the kinds are %s", strings.Join(ReminderKinds(), ", "))
		}
		if err := c.Reminders[kind].Validate(); err != nil {
			field, msg, _ := strings.Cut(err.Error(), ": ")
			return ferr("reminders."+kind+"."+field, "%s", msg)
		}
	}
	return nil
}
