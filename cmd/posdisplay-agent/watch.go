package main

import (
	"context"
	"errors"
	"io"
)

// watch prints the live cart of a register as a display sees it.
func watch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("watch: not wired yet")
}
