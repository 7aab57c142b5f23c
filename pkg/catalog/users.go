package catalog

// DefaultUserDataRetentionDays is how long a removed user's data is kept
// when the catalog does not say.
const DefaultUserDataRetentionDays = 30

// Users is the catalog's policy for the users of a system's quota tree.
type Users struct {
	// DataRetentionDays is how many days a removed user's data is kept
	// before it is deleted; nil: DefaultUserDataRetentionDays.
	DataRetentionDays *int `toml:"data_retention_days"`
}

// UserDataRetentionDays returns how many days a removed user's data is
// kept.
func (c *Catalog) UserDataRetentionDays() int {
	if d := c.Users.DataRetentionDays; d != nil {
		return *d
	}
	return DefaultUserDataRetentionDays
}

func (u *Users) validate() error {
	if d := u.DataRetentionDays; d != nil && (*d < 0 || *d > 1000) {
		return ferr("users.data_retention_days", "%d is not between 0 and 1000", *d)
	}
	return nil
}
