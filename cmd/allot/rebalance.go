package main

import (
	"github.com/urfave/cli/v2"

	"allot.dev/allot/pkg/allocate"
	"allot.dev/allot/pkg/wallet"
)

func (e *env) rebalanceCommand() *cli.Command {
	return &cli.Command{
		Name:      "rebalance",
		Usage:     "write a system's next bundle after devices or servers moved, spending nothing",
		UsageText: "allot rebalance --system ID.system.toml --out ID.lic",
		Description: "Writes the next bundle of a system that has one: the same periods, quotas and\n" +
			"funding as its last bundle, with the servers as the system file has them now\n" +
			"and, for a floating system, each server's share of the pool divided again by\n" +
			"where the devices are bound. Nothing is taken from the wallet's keys; a device\n" +
			"accepts it after the bundle before it, as it accepts a renewal.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "system", Usage: "the system description `FILE`"},
			outFlag("the bundle `FILE` (default: ID.lic)"),
			walletFlag(), nowFlag(), catalogFlag(), jsonFlag(),
		}, secretFlags()...),
		Action: e.rebalance,
	}
}

func (e *env) rebalance(c *cli.Context) error {
	if c.String("system") == "" {
		return usageErrorf("rebalance: --system is required")
	}
	req, out, err := e.bundleRequest(c)
	if err != nil {
		return err
	}
	return e.signBundle(c, "rebalance", req, out, func(w *wallet.Wallet) (*allocate.Plan, error) { return allocate.Rebalance(w, req) })
}
