package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/semaphore"
)

func testTenant(slots int64) *tenant {
	return &tenant{name: "Cust1", fresh: map[string]bool{}, lanes: map[string]*lane{}, slots: semaphore.NewWeighted(slots)}
}

// A table is let in with its lane and both slots, and gives them all back at once, however
// often its release is called.
func TestAdmissionTakesAndGivesBackEverything(t *testing.T) {
	e := New(nil, Options{MaxApplies: 1, Wait: 50 * time.Millisecond})
	ten := testTenant(1)
	ad := newAdmission(context.Background(), e, ten)
	defer ad.close()
	release, err := ad.enter("contact")
	if err != nil {
		t.Fatal(err)
	}
	if ten.slots.TryAcquire(1) || e.slots.TryAcquire(1) {
		t.Fatal("a slot was free while a table held it")
	}
	release()
	release()
	if !ten.slots.TryAcquire(1) || !e.slots.TryAcquire(1) {
		t.Fatal("a slot was not given back")
	}
	if ten.slots.TryAcquire(1) || e.slots.TryAcquire(1) {
		t.Fatal("a second release gave a slot back twice")
	}
	ten.slots.Release(1)
	e.slots.Release(1)
	laneFree(t, ten, "contact")
}

func laneFree(t *testing.T, ten *tenant, table string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l := ten.lane(table)
	if err := l.acquire(ctx); err != nil {
		t.Fatalf("the lane of %s is still held: %v", table, err)
	}
	l.release()
}

// A table waits for a slot while the body is still arriving, and once it has ended, at most
// Wait; it then fails as busy, holding nothing.
func TestAdmissionPatienceStartsWhenTheBodyEnds(t *testing.T) {
	e := New(nil, Options{MaxApplies: 4, Wait: 100 * time.Millisecond})
	ten := testTenant(1)
	first := newAdmission(context.Background(), e, ten)
	defer first.close()
	release, err := first.enter("contact")
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	second := newAdmission(context.Background(), e, ten)
	defer second.close()
	done := make(chan error, 1)
	go func() {
		rel, err := second.enter("person")
		if err == nil {
			rel()
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the second call gave up before its body ended: %v", err)
	case <-time.After(3 * e.opts.Wait):
	}
	second.bodyEnded()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "server busy") {
			t.Fatalf("the waiting table: %v", err)
		}
	case <-time.After(10 * e.opts.Wait):
		t.Fatal("the waiting table did not give up after its body ended")
	}
	laneFree(t, ten, "person")
	if !e.slots.TryAcquire(3) {
		t.Fatal("the table that gave up still holds an engine slot")
	}
	e.slots.Release(3)
}

// While one of the call's own tables is written, its other tables wait as long as it takes (on
// SQLite they take turns at the one writer); the clock starts afresh when the call stops moving.
func TestAdmissionWaitsForItsOwnTables(t *testing.T) {
	e := New(nil, Options{MaxApplies: 4, Wait: 100 * time.Millisecond})
	ten := testTenant(1)
	ad := newAdmission(context.Background(), e, ten)
	defer ad.close()
	release, err := ad.enter("contact")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		rel, err := ad.enter("person")
		if err == nil {
			rel()
		}
		done <- err
	}()
	ad.bodyEnded()
	select {
	case err := <-done:
		t.Fatalf("the call's second table gave up while its first was written: %v", err)
	case <-time.After(5 * e.opts.Wait):
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the second table, once the first was done: %v", err)
		}
	case <-time.After(10 * e.opts.Wait):
		t.Fatal("the second table was not let in after the first was done")
	}

	// Now another call holds the slot: with none of this call's tables written, the clock runs.
	other := newAdmission(context.Background(), e, ten)
	defer other.close()
	held, err := other.enter("appointment")
	if err != nil {
		t.Fatal(err)
	}
	defer held()
	if _, err := ad.enter("sale"); err == nil || !strings.Contains(err.Error(), "server busy") {
		t.Fatalf("a table waiting on another call's slot: %v", err)
	}
}
