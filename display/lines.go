package display

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"github.com/posdisplay/posdisplay/register/cart"
)

// lineList is the cart's virtualised list. A customer cannot scroll, so it
// shows whole rows only, from line first down as far as they fit, and moves
// first to keep the newest or changed line in view. Rows are a small pool:
// line i is always drawn by pool[i%len(pool)], so moving by one line rebinds
// one row, not all of them, and a delta to a visible line touches one row.
type lineList struct {
	s     *cartScreen
	box   *fyne.Container
	pool  []*fyne.Container
	bound []rowState // what each pool row shows
	first int
	size  fyne.Size
	// follow keeps the last line in view as lines are added.
	follow bool
}

func newLineList(s *cartScreen) *lineList {
	l := &lineList{s: s, follow: true}
	l.box = container.New(l)
	return l
}

// Layout is called by Fyne when the list is resized.
func (l *lineList) Layout(_ []fyne.CanvasObject, size fyne.Size) {
	if size == l.size {
		return
	}
	l.size = size
	l.grow()
	l.keepInView(-1)
	l.place(true)
}

// MinSize lets the list shrink to one row.
func (l *lineList) MinSize([]fyne.CanvasObject) fyne.Size {
	return fyne.NewSize(0, l.s.rowH[0])
}

// grow makes sure the pool can fill the list's height with short rows.
func (l *lineList) grow() {
	h := l.s.rowH[0]
	if h <= 0 {
		return
	}
	want := int(l.size.Height/h) + 1
	for len(l.pool) < want {
		row := l.s.createRow().(*fyne.Container)
		row.Hide()
		l.pool = append(l.pool, row)
		l.bound = append(l.bound, rowState{idx: -1})
		l.box.Objects = append(l.box.Objects, row)
	}
}

// height is line i's row height.
func (l *lineList) height(i int) float32 {
	if i < len(l.s.tall) && l.s.tall[i] {
		return l.s.rowH[1]
	}
	return l.s.rowH[0]
}

// last returns the index of the last line that fits when the view starts at first.
func (l *lineList) last(first int) int {
	y, i := float32(0), first
	for ; i < len(l.s.lines) && i-first < len(l.pool); i++ {
		y += l.height(i)
		if y > l.size.Height {
			break
		}
	}
	return i - 1
}

// keepInView moves first so that line target (or, with target < 0, the
// end when following) is visible, and so that no space is wasted at the
// bottom while earlier lines are hidden.
func (l *lineList) keepInView(target int) {
	n := len(l.s.lines)
	if target < 0 && l.follow {
		target = n - 1
	}
	l.first = min(l.first, max(n-1, 0))
	if target >= 0 && target < n {
		if target < l.first {
			l.first = target
		}
		for l.first < target && l.last(l.first) < target {
			l.first++
		}
	}
	// Fill from the bottom: pull earlier lines in while they fit.
	for l.first > 0 && l.last(l.first-1) == n-1 && l.fits(l.first-1, n-1) {
		l.first--
	}
	l.follow = n == 0 || l.last(l.first) == n-1
}

// fits reports whether lines from..to fit the height together.
func (l *lineList) fits(from, to int) bool {
	y := float32(0)
	for i := from; i <= to; i++ {
		y += l.height(i)
	}
	return y <= l.size.Height && to-from < len(l.pool)
}

// place binds and positions the visible rows. With all false only rows whose
// line, content or highlight changed are updated; all is for a change of
// mode (stale, hidden, currency) that every row shows.
func (l *lineList) place(all bool) {
	if len(l.pool) == 0 {
		return
	}
	last := l.last(l.first)
	used := make([]bool, len(l.pool))
	y := float32(0)
	for i := l.first; i <= last; i++ {
		k := i % len(l.pool)
		row := l.pool[k]
		used[k] = true
		h := l.height(i)
		size := fyne.NewSize(l.size.Width, h)
		if row.Position().Y != y || row.Size() != size {
			row.Move(fyne.NewPos(0, y))
			row.Resize(size)
		}
		if st := l.s.rowState(i); all || l.bound[k] != st {
			l.bound[k] = st
			l.s.updateRow(i, row)
		}
		if !row.Visible() {
			row.Show()
		}
		y += h
	}
	for k, row := range l.pool {
		if !used[k] && row.Visible() {
			row.Hide()
			l.bound[k] = rowState{idx: -1}
		}
	}
}

// lastShown is the index of the last visible line, for tests.
func (l *lineList) lastShown() int { return l.last(l.first) }

// rowState is everything a row draws from its line, to skip rows that did
// not change.
type rowState struct {
	idx  int
	line cart.Line
	lit  bool
}
