package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
)

// startupRows measures allot-verify and allot verify as whole processes,
// interleaved with their floors: hello-world, a Go process that checks six
// Ed25519 signatures, ssh-keygen -Y verify, the empty program that links
// the card's packages, and that program checking the six signatures; then
// the package initialisation of both.
func startupRows(work string, s *site, allot, allotVerify string) ([]row, error) {
	var rows []row
	// Whole-process verify against hello-world and ssh-keygen.
	hello, err := buildGo(work, "hello-world", helloSource)
	if err != nil {
		return nil, err
	}
	// The least a verifier process can do: start, read a file, check six
	// Ed25519 signatures (a typical bundle's count), exit.
	edOnly, err := buildHere(work, "edonly")
	if err != nil {
		return nil, err
	}
	// The floor of the full CLI: a program that does nothing but link the
	// packages DESIGN.md's card fixes, go-git among them.
	emptyCard, err := buildHere(work, "emptycard")
	if err != nil {
		return nil, err
	}
	// The least allot verify can do: the empty program, reading a file
	// and checking six Ed25519 signatures.
	cardFloor, err := buildHere(work, "cardfloor")
	if err != nil {
		return nil, err
	}
	if err := s.sshFiles(); err != nil {
		return nil, err
	}
	if err := writePubSig(s.p("site.payload"), s.p("site.pubsig")); err != nil {
		return nil, err
	}
	cmds := [][]string{
		{hello},
		{edOnly, s.p("site.pubsig"), s.p("site.payload")},
		{"ssh-keygen", "-Y", "verify", "-f", s.p("allowed_signers"), "-I", "wallet", "-n", "allot-bundle-v1", "-s", s.p("site.sig"), "-q"},
		{allotVerify, s.p("site.lic"), "--trust", s.p("vendor.pub"), "--usage", s.p("site.usage.toml")},
		{allot, "verify", s.p("site.lic"), "--trust", s.p("vendor.pub"), "--usage", s.p("site.usage.toml")},
		{emptyCard},
		{cardFloor, s.p("site.pubsig"), s.p("site.payload")},
	}
	med, err := interleaved(cmds, *rounds, s.p("site.payload"))
	if err != nil {
		return nil, err
	}
	rss, err := peakRSS(cmds, s.p("site.payload"))
	if err != nil {
		return nil, err
	}
	h, ed, ssh, av, full, card, cardEd := med[0], med[1], med[2], med[3], med[4], med[5], med[6]
	rows = append(rows,
		row{"allot-verify, typical bundle, whole process", ratio(av, h), "≤ 1.3 × hello-world; < ssh-keygen",
			fmt.Sprintf("hello-world %s; ssh-keygen -Y verify %s; a Go process checking 6 Ed25519 signatures, nothing else, %s", fmtDur(h), fmtDur(ssh), ratio(ed, h)),
			float64(av) <= 1.3*float64(h) && av < ssh},
		row{"allot verify (full CLI), whole process", ratio(full, card), "≤ 1.15 × an empty program linking the card's packages",
			fmt.Sprintf("that program (urfave/cli, age, toml, tablewriter, go-git) %s, %.2f × hello-world (%s); it reading the bundle and checking 6 Ed25519 signatures, nothing else, %s",
				fmtDur(card), float64(card)/float64(h), fmtDur(h), ratio(cardEd, card)), float64(full) <= 1.15*float64(card)},
	)
	// Package initialisation, which every run pays before main: go-git's
	// share of it in allot verify, beside the empty program's.
	initAll, initGit, err := initTime(cmds[4])
	if err != nil {
		return nil, err
	}
	cardAll, cardGit, err := initTime(cmds[5])
	if err != nil {
		return nil, err
	}
	rows = append(rows, row{"package initialisation of allot verify (GODEBUG=inittrace=1, best of 20)",
		fmt.Sprintf("%.2f ms, go-git and its modules %.2f ms", initAll, initGit), "go-git's as small as Go allows",
		fmt.Sprintf("the empty program: %.2f ms, go-git %.2f ms", cardAll, cardGit), initGit < cardGit})

	if rss != nil {
		rows = append(rows, row{"peak memory of allot verify (full CLI)", fmt.Sprintf("%.1f MiB", rss[4]), "≤ 20 MiB",
			fmt.Sprintf("allot-verify %.1f MiB; hello-world %.1f MiB (GNU time)", rss[3], rss[0]), rss[4] <= 20})
	} else {
		rows = append(rows, row{"peak memory of allot verify (full CLI)", "not measured", "≤ 20 MiB",
			"needs /usr/bin/time (Debian: time)", false})
	}
	return rows, nil
}

// buildHere builds the command scripts/benchtool/NAME into dir.
func buildHere(dir, name string) (string, error) {
	bin := filepath.Join(dir, name)
	if out, err := exec.Command("go", "build", "-tags", "urfave_cli_no_docs", "-o", bin, "./scripts/benchtool/"+name).CombinedOutput(); err != nil {
		return "", fmt.Errorf("building %s: %v: %s", name, err, out)
	}
	return bin, nil
}
