"""Section 3: the GAN: objective, program 4's networks, the `trainable` trap on Keras 3 and its fix, training."""


def cells(md, code):
    return [
        md("""
        ## 3. 생성적 적대 신경망(GAN)

        GAN(Generative Adversarial Network, Goodfellow 외, 2014)에서는 두 신경망이 경쟁하며 함께 발전합니다.
        생성자(generator) $G$는 노이즈 $z$에서 가짜 이미지 $G(z)$를 만들고, 판별자(discriminator) $D$는 진짜와
        가짜를 구별합니다. 판별자의 마지막 층은 시그모이드(sigmoid)여서 $D(x)$는 $x$가 진짜일 확률이고, 1은 진짜,
        0은 가짜를 뜻합니다. 학습은 판별자 업데이트와 생성자 업데이트를 번갈아 합니다. 처음에는 생성자가 노이즈만
        만들어 내므로 판별자가 쉽게 이기지만, 생성자는 점점 진짜 이미지의 구조를 흉내 내게 됩니다. 생성자는
        컨볼루션(convolution) 신경망을 거꾸로 돌린 것처럼, 작은 활성화 맵(activation map)에서 출발해 이미지를
        만들어 냅니다.

        ### 3.1 목적 함수

        두 신경망은 하나의 값 $V(D, G)$를 두고 겨룹니다. 판별자는 이 값을 키우고, 생성자는 줄입니다.

        $$\\min_G \\max_D V(D, G) = \\mathbb{E}_{x \\sim p_{\\text{data}}}\\big[\\log D(x)\\big] + \\mathbb{E}_{z \\sim p_z}\\big[\\log\\big(1 - D(G(z))\\big)\\big]$$

        - **판별자 스텝**: 진짜 이미지에는 레이블 1, 가짜 이미지에는 레이블 0을 붙여 이진 교차 엔트로피(binary
          cross-entropy)를 줄입니다. 이진 교차 엔트로피는 $-\\log D(x)$와 $-\\log(1 - D(G(z)))$의 평균이므로, 이것을
          줄이는 것이 곧 $V$를 키우는 것입니다.
        - **생성자 스텝**: 이 장의 코드는 가짜 이미지에 레이블 **1**을 붙여 생성자와 판별자를 이어 붙인 모델
          (stacked model)을 학습합니다. 이것은 $\\log(1 - D(G(z)))$를 줄이는 대신 $-\\log D(G(z))$를 줄이는 것으로,
          Goodfellow 외(2014)가 권한 방식입니다. 학습 초반에 $D(G(z))$가 0에 가까워도 기울기가 사라지지 않습니다.
        - 이 장의 노이즈는 균등 분포 $z \\sim U[-1, 1]^{32}$입니다.
        """, """
        ## 3. Generative adversarial networks (GAN)

        In a GAN (Goodfellow et al., 2014) two networks compete and improve together: the generator $G$ makes
        a fake image $G(z)$ from noise $z$, the discriminator $D$ tells fakes from real images. The
        discriminator ends in a sigmoid, so $D(x)$ is the probability that $x$ is real: 1 for real, 0 for
        fake. Training alternates a discriminator update and a generator update. At first the generator emits
        noise and the discriminator wins easily; gradually the generator copies the structure of real images.
        The generator works like a convolutional network run backwards: from a small activation map out to an
        image.

        ### 3.1 The objective

        The two networks play over one value, $V(D, G)$: the discriminator raises it, the generator lowers it.

        $$\\min_G \\max_D V(D, G) = \\mathbb{E}_{x \\sim p_{\\text{data}}}\\big[\\log D(x)\\big] + \\mathbb{E}_{z \\sim p_z}\\big[\\log\\big(1 - D(G(z))\\big)\\big]$$

        - **Discriminator step**: label real images 1 and fakes 0 and lower the binary cross-entropy. The
          binary cross-entropy is the mean of $-\\log D(x)$ and $-\\log(1 - D(G(z)))$, so lowering it raises $V$.
        - **Generator step**: the chapter's code trains the stacked model (generator followed by
          discriminator) on fakes labelled **1**. That lowers $-\\log D(G(z))$ instead of $\\log(1 - D(G(z)))$, as
          Goodfellow et al. (2014) recommend: the gradient does not vanish early on, when $D(G(z))$ is near 0.
        - The chapter's noise is uniform, $z \\sim U[-1, 1]^{32}$.
        """),
        md("""
        ### 3.2 MNIST 숫자를 만드는 GAN의 신경망 (프로그램 4)

        - 판별자: 5×5 컨볼루션 3개(필터 64, 128, 256, 스트라이드 2, 각각 뒤에 Dropout 0.4) → `Flatten` →
          `Dense(1, sigmoid)`
        - 생성자: $z$(32차원) → `Dense(7*7*64)` → 배치 정규화(batch normalization)와 LeakyReLU → 업샘플링
          (upsampling)과 전치 컨볼루션(transposed convolution)으로 7×7 → 14×14 → 28×28 → `Conv2D(1, sigmoid)`
        - 두 신경망 모두 이진 교차 엔트로피와 학습률 0.0004인 Adam

        이 장은 두 신경망을 `Sequential`로 쌓습니다. 아래는 같은 신경망을 함수형 API로 적은 것입니다.
        """, """
        ### 3.2 The GAN's networks for MNIST digits (program 4)

        - Discriminator: three 5x5 convolutions (64, 128, 256 filters, stride 2, each followed by
          Dropout 0.4) → `Flatten` → `Dense(1, sigmoid)`
        - Generator: $z$ (32-D) → `Dense(7*7*64)` → batch normalization and LeakyReLU → upsampling and
          transposed convolutions, 7x7 → 14x14 → 28x28 → `Conv2D(1, sigmoid)`
        - Both: binary cross-entropy and Adam with a learning rate of 0.0004

        The chapter stacks both networks with `Sequential`; below, the same networks in the functional API.
        """),
        code("""
        Z_DIMENSIONS = 32

        image_input = keras.Input(shape=(28, 28, 1), name="images")
        x = image_input
        for filters in (64, 128, 256):   # @ko 28x28 -> 14x14 -> 7x7 -> 4x4 @en 28x28 -> 14x14 -> 7x7 -> 4x4
            x = layers.Conv2D(filters, 5, strides=2, padding="same", activation="relu")(x)
            x = layers.Dropout(0.4)(x)
        x = layers.Flatten()(x)
        real_probability = layers.Dense(1, activation="sigmoid")(x)   # @ko D(x): 진짜일 확률 @en D(x): the probability of real
        discriminator = keras.Model(image_input, real_probability, name="discriminator")

        z = keras.Input(shape=(Z_DIMENSIONS,), name="z")
        x = layers.Dense(7 * 7 * 64)(z)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.LeakyReLU()(x)
        x = layers.Reshape((7, 7, 64))(x)
        x = layers.Dropout(0.4)(x)
        for filters in (32, 16):         # @ko 7x7 -> 14x14 -> 28x28 @en 7x7 -> 14x14 -> 28x28
            x = layers.UpSampling2D()(x)
            x = layers.Conv2DTranspose(filters, 5, padding="same")(x)
            x = layers.BatchNormalization(momentum=0.9)(x)
            x = layers.LeakyReLU()(x)
        fake_image = layers.Conv2D(1, 5, padding="same", activation="sigmoid")(x)   # @ko G(z): (28, 28, 1), [0, 1] 범위 @en G(z): (28, 28, 1), in [0, 1]
        generator = keras.Model(z, fake_image, name="generator")

        discriminator.summary()
        generator.summary()
        """),
        md("""
        > **Keras 3에서 이 장의 코드 (프로그램 4)**: 두 군데가 문제입니다.
        >
        > 1. `Adam(lr=0.0004)`는 Keras 3에서 `ValueError: Argument(s) not recognized: {'lr': 0.0004}`로 멈춥니다.
        >    `lr`라는 옛 이름이 없어졌기 때문입니다. 가장 작은 수정: `Adam(learning_rate=0.0004)`.
        > 2. `discriminator.trainable = False`로 판별자를 얼린 뒤 이어 붙인 모델을 컴파일하는 패턴은 오류 없이
        >    실행되지만, **판별자가 전혀 학습되지 않습니다**. 가장 작은 수정: 학습 루프에서
        >    `discriminator.train_on_batch(...)` 바로 앞에 `discriminator.trainable = True`, 바로 뒤에
        >    `discriminator.trainable = False`를 넣습니다. 다시 컴파일할 필요는 없습니다. 3.3절에서 자세히 봅니다.
        """, """
        > **The chapter's code on Keras 3 (program 4)**: two places.
        >
        > 1. `Adam(lr=0.0004)` stops on Keras 3 with `ValueError: Argument(s) not recognized: {'lr': 0.0004}`:
        >    the old name `lr` is gone. The smallest fix: `Adam(learning_rate=0.0004)`.
        > 2. Freezing the discriminator with `discriminator.trainable = False` and then compiling the stacked
        >    model runs without an error, but **the discriminator never trains**. The smallest fix: in the
        >    training loop, `discriminator.trainable = True` right before `discriminator.train_on_batch(...)`
        >    and `discriminator.trainable = False` right after. No recompiling is needed. Section 3.3 shows why.
        """),
        code("""
        try:
            keras.optimizers.Adam(lr=0.0004)   # @ko 이 장에 인쇄된 코드 @en as printed in the chapter
        except ValueError as error:
            print(f"ValueError: {error}")
        optimizer = keras.optimizers.Adam(learning_rate=0.0004)   # @ko 가장 작은 수정 @en the smallest fix
        print(f"«수정한 코드의 학습률|the fixed code's learning rate»: {float(optimizer.learning_rate):g}")
        """),
        md("""
        ### 3.3 이 장의 `trainable = False` 패턴은 Keras 3에서 조용히 실패합니다

        이 장은 판별자를 컴파일한 다음 `discriminator.trainable = False`로 얼리고, 이어 붙인 모델을 컴파일합니다.
        Keras 2에서는 `trainable`을 *컴파일할 때* 읽었기 때문에, 먼저 컴파일한 판별자는 `train_on_batch`로 계속
        학습되고 이어 붙인 모델 안에서만 얼어 있었습니다.

        Keras 3은 `trainable`을 *학습할 때* 읽습니다. 그래서 `discriminator.train_on_batch(...)`를 부르는 시점에
        판별자는 이미 얼어 있고, 가중치는 하나도 바뀌지 않습니다. 오류는 나지 않습니다. 놓치기 쉬운 경고가 한 줄
        나올 뿐이고, 손실 값도 그럴듯하게 출력됩니다. 작은 밀집층(dense layer) 신경망으로 직접 확인해 봅시다.
        판별자 가중치의 절댓값 합(체크섬)을 학습 전후로 비교합니다.
        """, """
        ### 3.3 The chapter's `trainable = False` pattern fails silently on Keras 3

        The chapter compiles the discriminator, freezes it with `discriminator.trainable = False` and then
        compiles the stacked model. Keras 2 read `trainable` *at compile time*, so the discriminator,
        compiled first, kept training with `train_on_batch`, and was frozen only inside the stacked model.

        Keras 3 reads `trainable` *at train time*. When `discriminator.train_on_batch(...)` runs, the
        discriminator is already frozen and not one weight changes. No error is raised: one easily missed
        warning line, and plausible loss values. Let us check with tiny dense networks, comparing a checksum
        (the sum of absolute weights) of the discriminator before and after training.
        """),
        code("""
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)


        def tiny_gan():
            \"\"\"«이 장과 같은 순서로 만든 아주 작은 GAN: D 컴파일 -> D 얼리기 -> 이어 붙인 모델 컴파일|A tiny GAN built in the chapter's order: compile D -> freeze D -> compile the stacked model».\"\"\"
            point = keras.Input((4,))                                      # @ko D: 4차원 점 -> 진짜일 확률 @en D: a 4-D point -> the probability of real
            D = keras.Model(point, layers.Dense(1, activation="sigmoid")(layers.Dense(8, activation="relu")(point)), name="D")
            noise = keras.Input((2,))                                      # @ko G: 2차원 노이즈 -> 4차원 점 @en G: 2-D noise -> a 4-D point
            G = keras.Model(noise, layers.Dense(4)(noise), name="G")
            D.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.01))
            D.trainable = False
            z = keras.Input((2,))
            stacked = keras.Model(z, D(G(z)))
            stacked.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.01))
            return D, G, stacked


        def checksum(network):
            return float(sum(np.abs(weight).sum() for weight in network.get_weights()))


        def real_batch(count=16):
            return rng.normal(1.0, 0.5, size=(count, 4)).astype("float32")   # @ko '진짜' 데이터: 평균 1인 점들 @en 'real' data: points around 1


        labels = np.concatenate([np.ones((16, 1)), np.zeros((16, 1))])   # @ko 진짜 16개는 1, 가짜 16개는 0 @en 16 real ones labelled 1, 16 fakes 0
        D, G, stacked = tiny_gan()
        d_before, g_before = checksum(D), checksum(G)
        for step in range(20):   # @ko 이 장의 학습 루프 그대로 @en the chapter's training loop as it is
            fake = G.predict(rng.uniform(-1, 1, (16, 2)), verbose=0)
            d_loss = D.train_on_batch(np.concatenate([real_batch(), fake]), labels)
            g_loss = stacked.train_on_batch(rng.uniform(-1, 1, (16, 2)), np.ones((16, 1)))

        print(f"«D 손실|D loss» {d_loss:.4f}, «G 손실|G loss» {g_loss:.4f}   («그럴듯한 값|plausible values»)")
        print(f"«D 체크섬|D checksum»: {d_before:.6f} -> {checksum(D):.6f}   «같은가|unchanged»: {checksum(D) == d_before}")
        print(f"«G 체크섬|G checksum»: {g_before:.6f} -> {checksum(G):.6f}   «같은가|unchanged»: {checksum(G) == g_before}")
        print("«D의 학습 가능한 변수 개수|D's trainable variables»:", len(D.trainable_variables))
        """),
        md("""
        생성자의 체크섬은 바뀌었지만 판별자의 체크섬은 20 스텝이 지나도 그대로입니다. `D.trainable_variables`가
        비어 있으니 `D.train_on_batch`가 업데이트할 변수가 없는 것입니다. 이 장의 GAN을 Keras 3에서 그대로 돌리면
        판별자는 처음의 무작위 가중치에 머물고, 생성자는 학습되지 않는 판별자를 속이는 법만 배웁니다.

        **자기 코드에 쓸 수 있는 수정**: Keras 3은 `trainable`을 학습할 때 읽으므로, 학습할 때마다 맞는 값으로
        바꿔 주면 됩니다. 판별자 스텝 직전에 `True`, 직후에 `False`. 두 줄이 전부이고, 다시 컴파일하지 않아도
        TensorFlow, JAX, PyTorch 백엔드 모두에서 동작합니다. 새로 만든 같은 작은 GAN으로 확인합니다.
        """, """
        G's checksum moved, D's did not, after 20 steps: `D.trainable_variables` is empty, so
        `D.train_on_batch` has nothing to update. Run as written on Keras 3, the chapter's GAN keeps its
        discriminator at its random initial weights, and the generator only learns to fool a network that
        never learns.

        **A fix for your own code**: Keras 3 reads `trainable` at train time, so set it right for each
        update: `True` just before the discriminator's step, `False` just after. Two lines, no recompiling,
        on the TensorFlow, JAX and PyTorch backends alike. Checked on a fresh tiny GAN:
        """),
        code("""
        D, G, stacked = tiny_gan()
        d_before, g_before = checksum(D), checksum(G)
        for step in range(20):
            fake = G.predict(rng.uniform(-1, 1, (16, 2)), verbose=0)
            D.trainable = True    # @ko 수정 1/2: 판별자 스텝 동안만 학습 가능 @en fix 1/2: trainable for the discriminator's step only
            d_loss = D.train_on_batch(np.concatenate([real_batch(), fake]), labels)
            D.trainable = False   # @ko 수정 2/2: 이어 붙인 모델의 스텝에서는 얼림 @en fix 2/2: frozen for the stacked model's step
            d_after_d_step = checksum(D)
            g_loss = stacked.train_on_batch(rng.uniform(-1, 1, (16, 2)), np.ones((16, 1)))
            assert checksum(D) == d_after_d_step, "«생성자 스텝이 D를 바꾸면 안 됩니다|the generator step must not change D»"

        print(f"«D 체크섬|D checksum»: {d_before:.6f} -> {checksum(D):.6f}   «바뀌었는가|changed»: {checksum(D) != d_before}")
        print(f"«G 체크섬|G checksum»: {g_before:.6f} -> {checksum(G):.6f}   «바뀌었는가|changed»: {checksum(G) != g_before}")
        print("«생성자 스텝은 매번 D를 그대로 두었습니다|every generator step left D unchanged»")
        """),
        md("""
        이번에는 두 신경망이 모두 학습되고, 생성자 스텝은 판별자를 전혀 바꾸지 않습니다. 같은 두 줄을 이 장의
        프로그램 4에 넣으면 됩니다. 아래는 3.2절에서 적은 신경망과 이 장의 학습 루프에 두 가지 수정(`learning_rate=`,
        `trainable` 두 줄)을 넣어 10 스텝만 돌린 것입니다. 한 스텝은 진짜 이미지 128장과 가짜 128장으로 판별자를 한 번,
        새 노이즈와 레이블 1로 생성자를 한 번 업데이트합니다. 이 장의 `EPOCHS=2000`은 사실 스텝 수입니다.

        (다른 방법도 있습니다. `trainable`을 건드리지 않고, 두 신경망에 옵티마이저를 하나씩 두어 각 스텝에서 업데이트할
        변수를 직접 고르는 것입니다. genlab의 GAN이 이렇게 두 스텝을 컴파일된 함수 하나로 실행합니다. TensorFlow의
        `tf.GradientTape`로 쓰는 방법은 직접 해 보기 3-1에 있습니다.)
        """, """
        Now both networks train, and the generator step leaves the discriminator untouched. The same two lines
        go into the chapter's program 4. Below: the networks written in section 3.2 and the chapter's training
        loop with both fixes (`learning_rate=`, the two `trainable` lines), run for 10 steps only. One step
        updates the discriminator once on 128 real images and 128 fakes, then the generator once on fresh
        noise with labels 1. The chapter's `EPOCHS=2000` are steps.

        (Another way leaves `trainable` alone: one optimizer per network, and each step names the variables
        it updates. genlab's GAN runs both steps that way in one compiled function. Try it 3-1 writes it with
        TensorFlow's `tf.GradientTape`.)
        """),
        code("""
        BATCH_SIZE = 128

        discriminator.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.0004), metrics=["accuracy"])
        discriminator.trainable = False
        z = keras.Input(shape=(Z_DIMENSIONS,))
        stacked_gan = keras.Model(z, discriminator(generator(z)))
        stacked_gan.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(learning_rate=0.0004), metrics=["accuracy"])

        d_before = checksum(discriminator)
        for step in range(10):   # @ko 이 장: EPOCHS = 2000 @en the chapter: EPOCHS = 2000
            real = x_train[np.random.choice(len(x_train), BATCH_SIZE, replace=False)]
            fake = generator.predict(np.random.uniform(-1.0, 1.0, size=[BATCH_SIZE, Z_DIMENSIONS]), verbose=0)
            x = np.concatenate((real, fake))
            y = np.ones([2 * BATCH_SIZE, 1])
            y[BATCH_SIZE:, :] = 0
            discriminator.trainable = True    # @ko 수정 @en the fix
            d_loss, d_accuracy = discriminator.train_on_batch(x, y)
            discriminator.trainable = False   # @ko 수정 @en the fix
            noise = np.random.uniform(-1.0, 1.0, size=[BATCH_SIZE, Z_DIMENSIONS])
            g_loss, g_accuracy = stacked_gan.train_on_batch(noise, np.ones([BATCH_SIZE, 1]))

        print(f"«10 스텝 뒤|after 10 steps»: «D 손실|D loss» {d_loss:.3f}, «D 정확도|D accuracy» {d_accuracy:.3f}, «G 손실|G loss» {g_loss:.3f}")
        print(f"«판별자가 학습되었는가|did the discriminator train»: {checksum(discriminator) != d_before}")
        """),
        md("""
        ### 3.4 genlab으로 프로그램 4 학습하기

        빠른 설정에서는 `genlab run chapter --quick`처럼 배치 32로 1,200 스텝을 학습합니다(CPU가 bfloat16을
        빠르게 계산하면 혼합 정밀도(mixed precision)를 씁니다). 짧은 학습에서는 이미지를 몇 장 보느냐보다 업데이트를
        몇 번 하느냐가 숫자 모양을 만드는 데 더 중요하기 때문입니다. 신경망은 3.2절에서 적은 것과 같습니다.
        """, """
        ### 3.4 Program 4, trained with genlab

        The quick settings train 1,200 steps of 32 images, as `genlab run chapter --quick` does (in mixed
        precision where the CPU computes bfloat16 fast): in a short training, the number of updates matters
        more for the digits' shapes than the number of images seen. The networks are those of section 3.2.
        """),
        code("""
        gan = lab.train("gan")
        print("«3.2절의 생성자와 같은 구조인가|the same generator as in section 3.2»:", notebook.same_network(generator, gan.load_model("generator.keras")))
        print("«3.2절의 판별자와 같은 구조인가|the same discriminator as in section 3.2»:", notebook.same_network(discriminator, gan.load_model("discriminator.keras")))
        print(f"«스텝당|per step» {gan.metrics['seconds_per_step']:.3f}«초| s»")
        show(gan.figures / "untrained.png")   # @ko 학습 전 생성자의 출력(N(0, 1) 노이즈 입력): 순수한 노이즈여야 합니다 @en the untrained generator's output from N(0, 1) noise: pure noise
        """),
        md("""
        이 장처럼 학습 전 생성자의 출력부터 봅니다. 아직 아무것도 배우지 않았으니 순수한 노이즈입니다. 아래는 학습하는
        동안 일정 간격으로 새 노이즈에서 뽑은 샘플 다섯 장을 한 줄(1×5)로 그린 이 장의 그림입니다. 처음, 중간, 마지막
        그림을 차례로 보여 줍니다.
        """, """
        As in the chapter, first the untrained generator's output: pure noise, since it has learnt nothing
        yet. Below, the chapter's figure drawn at intervals during training: five samples from fresh noise in
        one row (1 x 5). The first, a middle and the last strip:
        """),
        code("""
        strips = sorted((gan.figures / "strips").glob("step-*.png"))   # @ko sample_every 스텝마다 저장된 1x5 그림 @en the 1 x 5 strips, one every sample_every steps
        for path in dict.fromkeys([strips[0], strips[len(strips) // 2], strips[-1]]):   # @ko 처음, 중간, 마지막(겹치면 한 번만) @en first, middle, last (each once)
            show(path)
        """),
        md("""
        이제 1.1절의 평균 '모델'과 학습한 GAN을 나란히 놓아 봅시다. 평균 이미지는 몇 번을 뽑아도 같은 한 장이고,
        GAN은 노이즈가 바뀔 때마다 다른 숫자를 그립니다. `genlab.sample(run, 개수, seed=...)`은 같은 시드(seed)에서
        언제나 같은 이미지를 돌려줍니다.
        """, """
        Now section 1.1's mean "model" next to the trained GAN: the mean image is the same single picture
        however often it is drawn, the GAN draws a different digit for every noise vector.
        `genlab.sample(run, count, seed=...)` always returns the same images for the same seed.
        """),
        code("""
        first, second = genlab.sample(gan.path, 5, seed=1), genlab.sample(gan.path, 5, seed=2)   # @ko float32 (5, 28, 28, 1), [0, 1] 범위 @en float32 (5, 28, 28, 1), in [0, 1]
        print("«같은 시드는 같은 이미지|same seed, same images»:", np.array_equal(first, genlab.sample(gan.path, 5, seed=1)))
        show(plotting.image_rows([("mean 'model'", mean_model(5)), ("GAN, seed 1", first), ("GAN, seed 2", second)],
                                 lab.root / "mean-vs-gan.png"))
        show(gan.figures / "losses.png")   # @ko 판별자와 생성자의 손실(점선: 판별자 정확도) @en both losses (dashed: the discriminator's accuracy)
        """),
        md("""
        ### 직접 해 보기

        - **3-1** 이 장의 프로그램 4를 그대로 옮겨 적고, 위의 두 가지 수정만 넣어 200 스텝 학습해 보세요. 판별자의
          정확도(`d_accuracy`)가 0.5 근처를 오가나요, 1에 붙어 있나요? 심화: `trainable`을 쓰지 않고 `tf.GradientTape`와
          옵티마이저 두 개로 한 스텝을 직접 써 보세요.
        - **3-2** 잠재 공간의 크기를 바꿔 보세요: `lab.train("gan", latent_dim=8)`, `lab.train("gan", latent_dim=128)`.
          1×5 그림과 손실 그림은 어떻게 달라지나요? 4.1절의 `genlab.evaluate`로 FID도 견주어 보세요.
        - **3-3** 이 장의 설정(`chapter` 프리셋)과 genlab의 기본 설정(`default` 프리셋)을 같은 예산으로 비교해 보세요:
          `lab.train("gan", preset="default")`. `genlab config gan --preset default`가 무엇이 다른지 알려 줍니다.
        """, """
        ### Try it

        - **3-1** Copy the chapter's program 4 as printed, add only the two fixes above and train 200 steps.
          Does the discriminator's accuracy (`d_accuracy`) hover around 0.5, or stick at 1? Advanced: write one
          step without `trainable`, with `tf.GradientTape` and two optimizers.
        - **3-2** Change the size of the latent space: `lab.train("gan", latent_dim=8)`,
          `lab.train("gan", latent_dim=128)`. How do the 1 x 5 strips and the losses change? Compare their FID
          with `genlab.evaluate` (section 4.1).
        - **3-3** Compare the chapter's settings (the `chapter` preset) with genlab's default settings (the
          `default` preset) at the same budget: `lab.train("gan", preset="default")`.
          `genlab config gan --preset default` says what differs.
        """),
    ]
